"""Who may use the dashboard: everyone in dev mode; in signed mode, whoever holds the key.

Signed mode (the engine started with a signing key) guards the pages, which show every
prompt and answer, and the re-sync button, which makes the engine send a signed request:
- `Authorization: Bearer <signing key>` (the key, or the SDK's hashed form), or a session
  cookie set by the login form. The cookie holds its expiry and an HMAC of it derived from
  the key, never the key itself; it lasts SESSION_TTL_S (the browser drops it then, and
  the engine refuses it after, whatever the browser does); every comparison is constant-time.
- The login form takes at most LOGIN_FAILURES wrong keys per client address a minute,
  then answers 429 until the minute is over; failed logins are logged at a bounded rate.
- POSTs must come from the dashboard's own origin (`Origin`, else `Referer`), so another
  web page cannot drive a logged-in browser (CSRF).
Dev mode stays open, like the real Dev Server. `DashboardAuth.guard` is the dashboard
router's dependency; a refusal is an exception that `dashboard_errors` turns into a page.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from learninngest.engine.http import pages
from learninngest.engine.settings import EngineSettings
from learninngest.engine.wire import signing
from learninngest.log_budget import LogBudget

COOKIE = "learninngest_engine_session"
_SESSION_INFO = b"learninngest engine dashboard session v2:"
HOME = "../"  # the dashboard's home, from /dashboard/... (relative: works under a prefix)
SESSION_TTL_S = 12 * 3600
"""A login lasts a working day; then the key is asked for again."""
LOGIN_FAILURES = 10
"""Wrong keys per client address in one minute before the login form answers 429."""
LOGIN_WINDOW_S = 60
LOG_INTERVAL_S = 10.0

log = logging.getLogger("learninngest.engine")


class LoginRequired(Exception):
    """Signed mode and no key: the login page (401; 429 with Retry-After after too many)."""

    def __init__(self, note: str = "", status: int = 401, retry_after: int | None = None) -> None:
        super().__init__(note)
        self.note = note
        self.status = status
        self.retry_after = retry_after


class CrossOrigin(Exception):
    """A POST from another page than the dashboard's own (403)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def session_token(key: str, expires: int) -> str:
    """`<expires>.<hmac>`: the unix time it stops being valid, and an HMAC of it keyed by the key."""
    mac = hmac.new(signing.strip_prefix(key).encode(), _SESSION_INFO + str(expires).encode(), hashlib.sha256)
    return f"{expires}.{mac.hexdigest()}"


def session_valid(cookie: str, keys: list[str], now: float) -> bool:
    expires, _, _mac = cookie.partition(".")
    if not expires.isascii() or not expires.isdigit() or int(expires) <= now:
        return False
    return any(hmac.compare_digest(cookie, session_token(key, int(expires))) for key in keys)


class LoginFailures:
    """Failed logins per client address in fixed one-minute windows (in memory: one engine process)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, int]] = {}  # address -> (window number, failures)
        self.budget = LogBudget(lambda: LOG_INTERVAL_S)

    def _window(self) -> int:
        return int(self._clock() // LOGIN_WINDOW_S)

    def blocked_for(self, address: str) -> int:
        """Seconds until `address` may try again; 0 when it may now."""
        window, failures = self._counts.get(address, (-1, 0))
        if window != self._window() or failures < LOGIN_FAILURES:
            return 0
        return max(1, math.ceil((window + 1) * LOGIN_WINDOW_S - self._clock()))

    def failed(self, address: str) -> None:
        now_window = self._window()
        if len(self._counts) > 10_000:  # an old window's counts are worth nothing: bound memory
            self._counts = {a: c for a, c in self._counts.items() if c[0] == now_window}
        window, failures = self._counts.get(address, (now_window, 0))
        self._counts[address] = (now_window, failures + 1 if window == now_window else 1)
        held = self.budget.take()
        if held is not None:
            more = f" ({held} more since the last line)" if held else ""
            log.warning("dashboard login failed from %s: not the signing key%s", address, more)


class DashboardAuth:
    def __init__(self, settings: EngineSettings, keys: Callable[[], list[str]]) -> None:
        self.settings = settings
        self.keys = keys
        self.failures = LoginFailures()

    def allowed(self, request: Request) -> bool:
        if not self.settings.signed:
            return True
        if signing.check_bearer(request.headers.get("authorization"), self.keys()):
            return True
        return session_valid(request.cookies.get(COOKIE, ""), self.keys(), time.time())

    def same_origin(self, request: Request) -> bool:
        """A browser's POST names its page's origin; it must be this dashboard's host."""
        if not self.settings.signed:
            return True
        source = request.headers.get("origin") or request.headers.get("referer")
        if source is None:
            return True  # not a browser (curl, a script): the key is still required
        return urlsplit(source).netloc.lower() == request.headers.get("host", "").lower()

    async def guard(self, request: Request) -> None:
        """The dashboard's dependency: go on, or raise what to answer instead."""
        if request.method == "POST" and not self.same_origin(request):
            raise CrossOrigin("This form must be sent from the dashboard itself.")
        if not self.allowed(request):
            raise LoginRequired()


async def login_required(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, LoginRequired):
        exc = LoginRequired()
    page = pages.render(request, "login.html", exc.status, title="Log in", note=exc.note)
    if exc.retry_after is not None:
        page.headers["Retry-After"] = str(exc.retry_after)
    return page


async def cross_origin(request: Request, exc: Exception) -> Response:
    what = exc.what if isinstance(exc, CrossOrigin) else "Refused."
    return pages.message(request, "Refused", what, 403, back=False)


dashboard_errors: dict[type[Exception], Callable[[Request, Exception], object]] = {
    LoginRequired: login_required,
    CrossOrigin: cross_origin,
}


def build_router(auth: DashboardAuth) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post("/dashboard/login")
    async def login(request: Request) -> Response:
        if not auth.same_origin(request):
            raise CrossOrigin("Log in from the dashboard itself.")
        if not auth.settings.signed:
            return RedirectResponse(HOME, status_code=303)
        address = request.client.host if request.client else "unknown"
        if wait := auth.failures.blocked_for(address):
            note = f"Too many wrong keys from this address: try again in {wait} s."
            raise LoginRequired(note, 429, retry_after=wait)
        key = parse_qs((await request.body()).decode()).get("key", [""])[0].strip()
        if not key or not signing.check_bearer(f"Bearer {key}", auth.keys()):
            auth.failures.failed(address)
            raise LoginRequired(Markup("That is not this engine's signing key."))
        reply = RedirectResponse(HOME, status_code=303)
        reply.set_cookie(
            COOKIE,
            session_token(auth.settings.signing_key or "", int(time.time()) + SESSION_TTL_S),
            max_age=SESSION_TTL_S,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return reply

    @router.post("/dashboard/logout")
    async def logout(request: Request) -> Response:
        if not auth.same_origin(request):
            raise CrossOrigin("Log out from the dashboard itself.")
        reply = RedirectResponse(HOME, status_code=303)
        reply.delete_cookie(COOKIE)
        return reply

    return router
