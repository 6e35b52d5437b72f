"""Who may use the dashboard: everyone in dev mode; in signed mode, whoever holds the key.

Signed mode (the engine started with a signing key) guards the pages, which show every
prompt and answer, and the re-sync button, which makes the engine send a signed request:
- `Authorization: Bearer <signing key>` (the key, or the SDK's hashed form), or a session
  cookie set by the login form. The cookie holds an HMAC derived from the key, never the
  key itself; every comparison is constant-time.
- POSTs must come from the dashboard's own origin (`Origin`, else `Referer`), so another
  web page cannot drive a logged-in browser (CSRF).
Dev mode stays open, like the real Dev Server. `DashboardAuth.guard` is the dashboard
router's dependency; a refusal is an exception that `dashboard_errors` turns into a page.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from learninngest.engine.http import pages
from learninngest.engine.settings import EngineSettings
from learninngest.engine.wire import signing

COOKIE = "learninngest_engine_session"
_SESSION_INFO = b"learninngest engine dashboard session v1"
HOME = "../"  # the dashboard's home, from /dashboard/... (relative: works under a prefix)


class LoginRequired(Exception):
    """Signed mode and no key: the login page (401)."""

    def __init__(self, note: str = "") -> None:
        super().__init__(note)
        self.note = note


class CrossOrigin(Exception):
    """A POST from another page than the dashboard's own (403)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def session_token(key: str) -> str:
    return hmac.new(signing.strip_prefix(key).encode(), _SESSION_INFO, hashlib.sha256).hexdigest()


class DashboardAuth:
    def __init__(self, settings: EngineSettings, keys: Callable[[], list[str]]) -> None:
        self.settings = settings
        self.keys = keys

    def allowed(self, request: Request) -> bool:
        if not self.settings.signed:
            return True
        if signing.check_bearer(request.headers.get("authorization"), self.keys()):
            return True
        cookie = request.cookies.get(COOKIE, "")
        return any(hmac.compare_digest(cookie, session_token(key)) for key in self.keys())

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
    note = exc.note if isinstance(exc, LoginRequired) else ""
    return pages.render(request, "login.html", 401, title="Log in", note=note)


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
        key = parse_qs((await request.body()).decode()).get("key", [""])[0].strip()
        if not key or not signing.check_bearer(f"Bearer {key}", auth.keys()):
            raise LoginRequired(Markup("That is not this engine's signing key."))
        reply = RedirectResponse(HOME, status_code=303)
        reply.set_cookie(
            COOKIE,
            session_token(auth.settings.signing_key or ""),
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
