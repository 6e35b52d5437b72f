"""Who may use the dashboard: everyone in dev mode; in signed mode, whoever holds the key.

Signed mode (the engine started with a signing key) guards the pages, which show every
prompt and answer, and the re-sync button, which makes the engine send a signed request:
- `Authorization: Bearer <signing key>` (the key, or the SDK's hashed form), or a session
  cookie set by the login form. The cookie holds an HMAC derived from the key, never the
  key itself; every comparison is constant-time.
- POSTs must come from the dashboard's own origin (`Origin`, else `Referer`), so another
  web page cannot drive a logged-in browser (CSRF).
Dev mode stays open, like the real Dev Server.
"""

from __future__ import annotations

import hashlib
import hmac
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from learninngest.engine.wire import signing

if TYPE_CHECKING:
    from learninngest.engine.compose import Engine

COOKIE = "learninngest_engine_session"
_SESSION_INFO = b"learninngest engine dashboard session v1"


def session_token(key: str) -> str:
    return hmac.new(signing.strip_prefix(key).encode(), _SESSION_INFO, hashlib.sha256).hexdigest()


class DashboardAuth:
    def __init__(self, engine: Engine) -> None:
        self.settings = engine.settings
        self.keys = engine.registry.keys

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


def login_page(status: int, note: str = "") -> HTMLResponse:
    body = (
        "<h1>LearnInngest engine</h1><p>This engine runs in signed mode: its dashboard needs the "
        "signing key it was started with (or send <code>Authorization: Bearer &lt;key&gt;</code>).</p>"
        f"{f'<p><b>{escape(note)}</b></p>' if note else ''}"
        "<form method='post' action='/dashboard/login'><input type='password' name='key' "
        "placeholder='signkey-…' size='60' autocomplete='off'> <button>Log in</button></form>"
    )
    return HTMLResponse(_page("Log in", body), status)


def build_router(auth: DashboardAuth) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post("/dashboard/login")
    async def login(request: Request) -> Response:
        if not auth.same_origin(request):
            return HTMLResponse(_page("Refused", "<p>Log in from the dashboard itself.</p>"), 403)
        if not auth.settings.signed:
            return RedirectResponse("/", status_code=303)
        key = parse_qs((await request.body()).decode()).get("key", [""])[0].strip()
        if not key or not signing.check_bearer(f"Bearer {key}", auth.keys()):
            return login_page(401, "That is not this engine's signing key.")
        reply = RedirectResponse("/", status_code=303)
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
            return HTMLResponse(_page("Refused", "<p>Log out from the dashboard itself.</p>"), 403)
        reply = RedirectResponse("/", status_code=303)
        reply.delete_cookie(COOKIE)
        return reply

    return router
