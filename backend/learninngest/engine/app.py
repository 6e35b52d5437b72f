"""create_engine_app(settings): wire state, registry, executor, intake and the HTTP routes.

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

from learninngest.engine import dashboard, gql_route, rest_api
from learninngest.engine.apps import Registry
from learninngest.engine.clock import Clock
from learninngest.engine.connect import Connect
from learninngest.engine.executor import Executor
from learninngest.engine.ids import UlidFactory
from learninngest.engine.intake import Intake
from learninngest.engine.retention import purge_periodically
from learninngest.engine.settings import EngineSettings
from learninngest.engine.state import State

log = logging.getLogger("learninngest.engine")
_KIND_HEADER = (b"x-inngest-server-kind", b"dev")
STARTUP_SYNC_ATTEMPTS = 20  # x 0.25 s: apps started at the same time get ~5 s to come up


class Engine:
    """The parts of one engine (`app.state.engine`); the state opens when the app starts."""

    def __init__(self, settings: EngineSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock(settings.time_scale)
        self.ids = UlidFactory()
        self.state = State(settings.db_path)
        self.registry = Registry(settings, self.state, self.clock)
        self.connect = Connect(settings, self.registry, self.ids)
        self.executor = Executor(
            settings, self.state, self.clock, self.registry, self.ids, connect=self.connect.router
        )
        self.intake = Intake(settings, self.state, self.clock, self.registry, self.executor, self.ids)
        self.executor.runs.emit = self.intake.ingest_internal
        self._purge: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.state.open()
        self.registry.load()
        await self.executor.start()
        await self.connect.start()
        self._purge = asyncio.create_task(
            purge_periodically(self.state, self.clock, self.settings.retention_s), name="engine-purge"
        )

    async def stop(self) -> None:
        """Stop calling apps; every run stays in the state where it was."""
        if self._purge is not None:
            self._purge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purge
            self._purge = None
        await self.connect.stop()
        await self.executor.stop()
        self.state.close()


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

    if not settings.signing_key:
        # Dev mode, like the real Dev Server: every response says so. A plain ASGI
        # middleware: Starlette's @app.middleware("http") would run each request through a
        # task and a memory stream, ~0.3 ms of CPU per request for one header.
        app.add_middleware(DevServerKindHeader)

    app.include_router(engine.registry.router())
    app.include_router(engine.intake.router())
    app.include_router(engine.connect.routes())
    app.include_router(
        rest_api.build_router(settings, engine.state, engine.clock, engine.registry, engine.executor)
    )
    app.include_router(gql_route.build_router(settings, engine.state, engine.registry))
    app.include_router(dashboard.build_router(engine))
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
