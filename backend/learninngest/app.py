"""create_app(settings): builds the backend from api/, worker/ and store/. The only wiring."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from learninngest import __version__
from learninngest.api import chat, health, results, runs, stream
from learninngest.api.auth_failures import AuthFailures
from learninngest.api.errors import install_error_handlers
from learninngest.api.keys import KeyRing
from learninngest.api.openapi import declare_keys_only_when_set
from learninngest.api.rate_limit import limit_requests
from learninngest.api.schemas import Problem
from learninngest.api.sync_gate import SyncGate
from learninngest.api.waiters import ResultWaiters
from learninngest.config import OFFLINE_MOUNT_PATH, Settings, get_settings
from learninngest.forwarded_prefix import ForwardedPrefix
from learninngest.llm.lazy import preload
from learninngest.llm.models import pooled_models
from learninngest.logs import setup_logging
from learninngest.serving import gc_freeze
from learninngest.serving.security_headers import DOCS, SWAGGER_PAGES, SecurityHeaders
from learninngest.store import open_store
from learninngest.store.purging import purge_periodically
from learninngest.stream import open_channel
from learninngest.web import mount_web
from learninngest.worker.chat_worker import build_chat_functions
from learninngest.worker.client import bind_to_serving_loop, build_inngest_client, release_blocking_client
from learninngest.worker.reconciler import Reconciler
from learninngest.worker.serve import SERVE_PATH, mount_inngest
from learninngest.worker.serve_guard import guard_sdk_routes

log = logging.getLogger("learninngest.app")


def create_app(settings: Settings | None = None, *, wait_for_sync: bool = False) -> FastAPI:
    """A complete backend for `settings` (from env and `.env` when None). No global state.

    `wait_for_sync`: refuse POST /api/v1/chat (503) until `app.state.sync_gate.open()`,
    for a starter that syncs the app itself after starting it (the kit's Stack).
    """
    settings = settings or get_settings()
    setup_logging(settings.log_level)
    size, wait = settings.redis_pool_size, settings.redis_pool_timeout_s  # Redis pools only
    store = open_store(
        settings.result_store_url,
        retention_s=settings.result_retention_s,
        max_connections=size,
        pool_timeout_s=wait,
    )
    waiters = ResultWaiters(
        store, max_waiters=settings.long_poll_max_waiters, reread_s=settings.long_poll_reread_s
    )
    client = build_inngest_client(settings)
    channel = open_channel(
        settings.result_store_url,
        ttl_s=settings.stream_ttl_s,
        max_connections=size,
        pool_timeout_s=wait,
        kind=settings.stream_channel,
        realtime_url=settings.inngest_api_url,
        realtime_channel=settings.stream_realtime_channel,
        signing_keys=[k for k in (settings.inngest_signing_key, settings.inngest_signing_key_fallback) if k],
    )
    reconciler = Reconciler(settings, store, waiters.notify)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info(
            "backend ready: inngest=%s provider=%s store=%s",
            settings.inngest_api_url,
            settings.resolved_provider,
            settings.result_store_url,
        )
        await waiters.start()
        await channel.start()
        if settings.llm_preload:
            await preload()  # LangChain now: the first request does not wait for its import
        sdk_http = bind_to_serving_loop(client)  # `send` on this loop, not via a thread
        purge = asyncio.create_task(purge_periodically(store), name="result-store:purge")
        sweeping = None
        worker = None
        if settings.inngest_connect:  # calls come over an outbound socket, not /api/inngest
            # Imported only here: the SDK's connect module and protobuf are ~4 MiB a backend
            # served over HTTP never uses.
            from learninngest.worker.connect_worker import ConnectWorker

            worker = ConnectWorker(client, _app.state.functions.functions)
            await worker.start()
        _app.state.connect_worker = worker
        if settings.reconcile_interval_s > 0:
            sweeping = asyncio.create_task(reconciler.run_forever(), name="reconciler")
        gc_freeze.freeze("backend started")
        try:
            async with pooled_models():  # LLM calls on this loop reuse warm models
                yield
        finally:
            if worker is not None:
                await worker.stop()
            for task in (purge, sweeping):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await waiters.stop()
            await channel.close()
            if sdk_http is not None:
                await sdk_http.aclose()
            release_blocking_client(client)
            await store.close()

    # Swagger UI from files shipped in the package, not a CDN: /docs works offline.
    app = FastAPIOffline(
        title="LearnInngest backend",
        version=__version__,
        description="Slow LLM calls in the background: POST a chat, then GET its result.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.inngest = client
    app.state.waiters = waiters
    app.state.channel = channel
    app.state.keys = KeyRing(settings.load_api_keys())  # empty (auth off) unless API_KEYS is set
    app.state.auth_failures = AuthFailures(store, settings.auth_failure_limit)
    app.state.reconciler = reconciler
    app.state.sync_gate = SyncGate(open_=not wait_for_sync)

    if settings.cors_origins:
        # Settings refuse "*" together with credentials (config.Settings.check).
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Idempotency-Key", "Authorization", "Last-Event-ID"],
        )
    # CSP and friends on every answer; the Swagger page's one inline script is allowed by hash.
    docs = {path: DOCS for path in ("/docs", "/redoc")}
    app.add_middleware(SecurityHeaders, by_prefix=docs, hashed_paths=SWAGGER_PAGES)
    if settings.trusted_proxies:
        # Only these may say who the client is (X-Forwarded-For): the address rate limits count.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    # Behind jupyter-server-proxy (hosted Jupyter) its X-Forwarded-Prefix becomes the root
    # path: Swagger's page and assets load from the prefix the browser sees.
    app.add_middleware(ForwardedPrefix)
    install_error_handlers(app)
    # Every /api/v1 route authenticates and counts against the rate limit (both are no-ops
    # in dev mode): a router added to this tuple is covered without saying so.
    v1 = APIRouter(
        dependencies=[Depends(limit_requests)],
        responses={
            401: {"model": Problem, "description": "No API key, or not a valid one (only with API_KEYS)"},
            429: {"model": Problem, "description": "Rate limit reached; see Retry-After"},
        },
    )
    for module in (chat, results, runs, stream):
        v1.include_router(module.router)
    app.include_router(v1)
    declare_keys_only_when_set(app, app.state.keys.enabled)  # dev mode: no bearer in the schema
    app.include_router(health.router)

    # app.state.functions: what /api/inngest serves; the kit adds functions written in cells.
    app.state.functions = mount_inngest(
        app, client, build_chat_functions(client, settings, store, waiters.notify, channel), settings
    )
    guard_sdk_routes(app, SERVE_PATH, signed=not settings.is_dev)
    mount_web(app, settings)  # the chat page at / (static files, no CDN)

    if settings.resolved_provider == "offline" and not settings.offline_model_url:
        from learninngest.offline_model.access import KeyRequired, accepting, internal_key
        from learninngest.offline_model.app import OfflineModelConfig, create_offline_model_app

        offline = create_offline_model_app(OfflineModelConfig.from_settings(settings))
        ring: KeyRing = app.state.keys
        if ring.enabled:  # with API keys, the model is not open to anyone either
            own = internal_key(key.digest for key in settings.load_api_keys())
            offline = KeyRequired(offline, accepting(own, ring.owner_of))  # type: ignore[assignment]
        app.mount(OFFLINE_MOUNT_PATH, offline)
    return app
