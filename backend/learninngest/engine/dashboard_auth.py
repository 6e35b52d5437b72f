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
Dev mode stays open, like the real Dev Server.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from learninngest.engine import signing
from learninngest.log_budget import LogBudget

if TYPE_CHECKING:
    from learninngest.engine.app import Engine

COOKIE = "learninngest_engine_session"
_SESSION_INFO = b"learninngest engine dashboard session v2:"
SESSION_TTL_S = 12 * 3600
"""A login lasts a working day; then the key is asked for again."""
LOGIN_FAILURES = 10
"""Wrong keys per client address in one minute before the login form answers 429."""
LOGIN_WINDOW_S = 60
LOG_INTERVAL_S = 10.0

log = logging.getLogger("learninngest.engine")


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
    def __init__(self, engine: Engine) -> None:
        self.settings = engine.settings
        self.keys = engine.registry.keys
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

    def guard(self, request: Request) -> Response | None:
        """None when the request may go on; else the answer to give instead."""
        if request.method == "POST" and not self.same_origin(request):
            return HTMLResponse(
                _page("Refused", "<p>This form must be sent from the dashboard itself.</p>"), 403
            )
        if not self.allowed(request):
            return login_page(401)
        return None


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
        f"<body style='font:14px system-ui,sans-serif;margin:1.5em'>{body}</body></html>"
    )


def login_page(status: int, note: str = "", headers: dict[str, str] | None = None) -> HTMLResponse:
    body = (
        "<h1>LearnInngest engine</h1><p>This engine runs in signed mode: its dashboard needs the "
        "signing key it was started with (or send <code>Authorization: Bearer &lt;key&gt;</code>).</p>"
        f"{f'<p><b>{escape(note)}</b></p>' if note else ''}"
        "<form method='post' action='/dashboard/login'><input type='password' name='key' "
        "placeholder='signkey-…' size='60' autocomplete='off'> <button>Log in</button></form>"
    )
    return HTMLResponse(_page("Log in", body), status, headers=headers)


def build_router(auth: DashboardAuth) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post("/dashboard/login")
    async def login(request: Request) -> Response:
        if not auth.same_origin(request):
            return HTMLResponse(_page("Refused", "<p>Log in from the dashboard itself.</p>"), 403)
        if not auth.settings.signed:
            return RedirectResponse("/", status_code=303)
        address = request.client.host if request.client else "unknown"
        if wait := auth.failures.blocked_for(address):
            note = f"Too many wrong keys from this address: try again in {wait} s."
            return login_page(429, note, headers={"Retry-After": str(wait)})
        key = parse_qs((await request.body()).decode()).get("key", [""])[0].strip()
        if not key or not signing.check_bearer(f"Bearer {key}", auth.keys()):
            auth.failures.failed(address)
            return login_page(401, "That is not this engine's signing key.")
        reply = RedirectResponse("/", status_code=303)
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
            return HTMLResponse(_page("Refused", "<p>Log out from the dashboard itself.</p>"), 403)
        reply = RedirectResponse("/", status_code=303)
        reply.delete_cookie(COOKIE)
        return reply

    return router
