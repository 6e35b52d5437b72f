"""Mounts /api/inngest on the backend: a thin adapter, no logic of its own.

The SDK's own FastAPI adapter (`inngest.fast_api.serve`) answers syncs and inspection
(PUT, GET). It fixes the function list when it is called, so the route delegates to an
inner app built by it, and `ServedFunctions.set` builds a new one: functions written in a
notebook cell join (or leave) the running backend without a restart. The backend's own
functions are the first list and stay in worker/.

The calls (POST, three per chat request) go straight to the SDK's request handler, with
the same arguments and the same answer as its FastAPI adapter gives, but without a second
FastAPI app around it (its middleware, router and request parsing were a tenth of the
backend's CPU at 32 requests in flight: docs/performance.md, issue 19); and they reach it
without the outer app's router either (fast_calls.py).

In production mode (INNGEST_DEV=0) the registered URL comes from settings, not from the
sync request's Host header; the SDK refuses unsigned sync requests; and signed requests
dated more than 5 minutes from now are refused (`signature_window`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import inngest
import inngest.fast_api
from fastapi import FastAPI
from inngest._internal import comm_lib, server_lib
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from learninngest.config import Settings
from learninngest.worker.fast_calls import serve_calls_directly
from learninngest.worker.signature_window import SignatureWindow

SERVE_PATH = "/api/inngest"

log = logging.getLogger("learninngest.worker")


class ServedFunctions:
    """The functions /api/inngest serves, as an ASGI app whose function list can change."""

    def __init__(self, client: inngest.Inngest, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self._functions: dict[str, inngest.Function] = {}
        self._handler: comm_lib.CommHandler | None = None
        self._app: ASGIApp = self._build()

    @property
    def functions(self) -> list[inngest.Function]:
        return list(self._functions.values())

    def ids(self) -> list[str]:
        """The served function ids, as the SDK sends them (`<app id>-<fn_id>`)."""
        return list(self._functions)

    def set(self, functions: Iterable[inngest.Function]) -> None:
        """Serve exactly `functions` from the next request on (a call in flight finishes on the old list)."""
        self._functions = {fn.id: fn for fn in functions}
        self._app = self._build()

    def add(self, fn: inngest.Function) -> None:
        """Serve `fn` too; a function with the same id is replaced."""
        replaced = fn.id in self._functions
        self.set([*(f for f in self.functions if f.id != fn.id), fn])
        log.info("function %s %s", fn.id, "replaced" if replaced else "added")

    def remove(self, fn_id: str) -> bool:
        """Stop serving `fn_id` (full or local id); False when it was not served."""
        full = fn_id if fn_id in self._functions else f"{self._client.app_id}-{fn_id}"
        if full not in self._functions:
            return False
        self.set(f for f in self.functions if f.id != full)
        log.info("function %s removed", full)
        return True

    def _build(self) -> ASGIApp:
        inner = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        origin, prefix = self._settings.serve_url
        self._where = (origin, f"{prefix}{SERVE_PATH}" if prefix else None)
        inngest.fast_api.serve(
            inner,
            self._client,
            self.functions,
            serve_origin=origin,
            serve_path=SERVE_PATH,
            # Where the Inngest server calls, when a reverse proxy strips a path prefix.
            public_path=f"{prefix}{SERVE_PATH}" if prefix else None,
            # In dev mode the SDK always allows unsigned syncs (the Dev Server signs nothing).
            enable_unauthed_sync=self._settings.is_dev,
        )
        # The calls' handler, built as `serve` builds its own (the same settings and list).
        self._handler = comm_lib.CommHandler(
            client=self._client,
            enable_unauthed_sync=self._settings.is_dev,
            framework=server_lib.Framework.FAST_API,
            functions=self.functions,
            streaming=None,
        )
        return inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self._handler
        if scope["type"] != "http" or scope["method"] != "POST" or handler is None:
            await self._app(scope, receive, send)
            return
        # What inngest.fast_api's POST route does, minus the FastAPI app around it.
        request = Request(scope, receive)
        origin, public_path = self._where
        reply = await handler.post(
            comm_lib.CommRequest(
                body=await request.body(),
                headers=dict(request.headers.items()),
                public_path=public_path,
                query_params=dict(request.query_params.items()),
                raw_request=request,
                request_url=str(request.url),
                serve_origin=origin,
                serve_path=SERVE_PATH,
            )
        )
        response = inngest.fast_api._to_response(self._client, reply)  # the adapter's own encoding
        await response(scope, receive, send)


def mount_inngest(
    app: FastAPI,
    client: inngest.Inngest,
    functions: list[inngest.Function],
    settings: Settings,
) -> ServedFunctions:
    served = ServedFunctions(client, settings)
    served.set(functions)
    # A non-function endpoint is an ASGI app to Starlette: each request goes to the current list.
    # Starlette takes an ASGI app as an endpoint at run time; its annotation names only functions.
    app.add_route(SERVE_PATH, served, methods=["GET", "POST", "PUT"], include_in_schema=False)  # type: ignore[arg-type]
    # First in the routing table: the engine's calls are most of the backend's requests, and
    # matching them against the /api/v1 routers first (FastAPI walks each included router's
    # routes per request) cost more than the route's own work.
    app.router.routes.insert(0, app.router.routes.pop())
    # The calls skip the router and FastAPI's inner layers altogether (fast_calls.py).
    serve_calls_directly(app, served, SERVE_PATH)
    if not settings.is_dev:
        app.add_middleware(SignatureWindow, path=SERVE_PATH)
    return served
