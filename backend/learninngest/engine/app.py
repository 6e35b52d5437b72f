"""create_engine_app(settings): the engine (compose.py) behind its HTTP routes (http/).

The lifespan opens the state, starts the run loop and syncs `settings.app_urls` in the
background (the engine must already be listening when the app calls /fn/register back).
Nothing is global, so two engines can live in one process (tests, notebooks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from learninngest.engine.clock import Clock
from learninngest.engine.compose import Engine
from learninngest.engine.http import checkpoint, dashboard, events, gql_route, rest, sync
from learninngest.engine.http.cors import EventApiCors
from learninngest.engine.http.dashboard_auth import DashboardAuth, dashboard_errors
from learninngest.engine.http.fast_events import serve_events_directly
from learninngest.engine.http.problems import Problem, problem_response
from learninngest.engine.realtime.streamed import streams_body
from learninngest.engine.settings import EngineSettings
from learninngest.serving import gc_freeze
from learninngest.serving.security_headers import INLINE_STYLES, SecurityHeaders

log = logging.getLogger("learninngest.engine")
_KIND_HEADER = (b"x-inngest-server-kind", b"dev")
STARTUP_SYNC_ATTEMPTS = 20  # x 0.25 s: apps started at the same time get ~5 s to come up


def create_engine_app(settings: EngineSettings, clock: Clock | None = None) -> FastAPI:
    """The engine as an ASGI app; `clock` lets a test move time (default: the wall clock, scaled)."""
    engine = Engine(settings, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await engine.start()
        log.info(
            "engine started (%s mode, state: %s, time scale %g)",
            settings.server_kind,
            settings.db_path or "memory",
            settings.time_scale,
        )
        gc_freeze.freeze("engine started")
        sync = None
        if settings.app_urls:
            sync = asyncio.create_task(engine.registry.sync_all(attempts=STARTUP_SYNC_ATTEMPTS))
        try:
            yield
        finally:
            if sync is not None:
                sync.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sync
            await engine.stop()
            log.info("engine stopped")

    app = FastAPI(
        title="LearnInngest engine", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.engine = engine
    # Streamed Realtime publishes reach their route as they arrive (realtime/streamed.py).
    app.state.streamed_body = streams_body
    app.add_middleware(SecurityHeaders, default=INLINE_STYLES)  # the dashboard styles itself inline

    if not settings.signing_key:
        # Dev mode, like the real Dev Server: every response says so. A plain ASGI
        # middleware: Starlette's @app.middleware("http") would run each request through a
        # task and a memory stream, ~0.3 ms of CPU per request for one header.
        app.add_middleware(DevServerKindHeader)
    # Outermost, as the real server's: a page may send events from a browser (http/cors.py).
    app.add_middleware(EventApiCors)

    app.add_exception_handler(Problem, problem_response)
    for error, handler in dashboard_errors.items():
        app.add_exception_handler(error, handler)  # type: ignore[arg-type]
    app.include_router(sync.build_router(settings, engine.registry))
    event_api = events.EventApi(settings, engine.intake)
    app.include_router(events.build_router(event_api))
    app.include_router(engine.connect.routes())
    app.include_router(engine.realtime.routes())
    app.include_router(
        rest.build_router(
            settings,
            engine.state,
            engine.clock,
            engine.registry,
            engine.runs,
            engine.flow,
            engine.clock.advance,
        )
    )
    app.include_router(checkpoint.build_router(settings, engine.state, engine.registry, engine.checkpoints))
    app.include_router(gql_route.build_router(settings, engine.state, engine.registry))
    auth = DashboardAuth(settings, engine.registry.keys)
    app.include_router(dashboard.build_router(settings, engine.state, engine.registry, engine.flow, auth))
    # Event sends skip the router and FastAPI's inner layers (http/fast_events.py).
    serve_events_directly(app, event_api)
    return app


class DevServerKindHeader:
    """ASGI middleware: `X-Inngest-Server-Kind: dev` on every HTTP response (dev mode)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != _KIND_HEADER[0]]
                message = {**message, "headers": [*headers, _KIND_HEADER]}
            await send(message)

        await self.app(scope, receive, send_with_header)
