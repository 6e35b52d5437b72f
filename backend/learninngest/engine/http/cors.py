"""CORS on the event API, as the real server's (`pkg/api/api.go`): any origin, no credentials.

A page may send events to the engine from a browser (the TypeScript SDK does, with an event
key): the real server answers every origin on its event API (`/e/{key}`, `/health`) with
that origin reflected, any request header, and a preflight cached for an hour. The engine
does the same there, in both modes (a send still needs its event key in signed mode).

Not on /v0 and the rest: the real server's core API (`/v0/gql` and friends) answers every
origin too, but in dev mode that lets any web page a developer opens read the runs' inputs
and outputs from the engine on their machine; no page needs that, so the engine keeps it to
same-origin requests (the dashboard is served by the engine itself).
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from learninngest.serving.router_bypass import route_path

EVENT_API_PREFIXES = ("/e/",)
EVENT_API_PATHS = frozenset({"/health"})
METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS"]
PREFLIGHT_MAX_AGE_S = 3600


def on_event_api(path: str) -> bool:
    return path in EVENT_API_PATHS or path.startswith(EVENT_API_PREFIXES)


class EventApiCors:
    """ASGI middleware: Starlette's CORS handling for the event API's paths, nothing elsewhere.

    A request without an Origin header (every SDK's send from a server, the backend's) goes
    straight through: the event send is the engine's busiest route.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origin_regex=".*",  # every origin, reflected (not "*"), as the server does
            allow_methods=METHODS,
            allow_headers=["*"],
            expose_headers=["Link"],
            allow_credentials=False,
            max_age=PREFLIGHT_MAX_AGE_S,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_origin(scope) and on_event_api(route_path(scope)):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_origin(scope: Scope) -> bool:
    return any(name == b"origin" for name, _ in scope["headers"])
