"""Chat models lent to LLM calls: reused on a serving loop, made per call elsewhere.

A ChatOpenAI with its own HTTP client costs a few ms of CPU to build and a new TCP
connection per call. The backend's lifespan opens a `ModelPool` for its event loop; calls
on that loop then borrow a model (and its warm connection) and give it back. As in the
engine's client pool (engine/wire/client_pool.py), a model serves one call at a time, so its
HTTP client's connection pool stays at one connection and httpcore's per-request walk over
idle connections stays O(1). Calls on a loop without a pool (a notebook cell, a test, a
script) build a model and close its client afterwards, as before: nothing outlives a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from collections.abc import AsyncIterator, Hashable
from typing import TYPE_CHECKING, Any

import certifi

from learninngest.config import Settings
from learninngest.llm.provider import base_url, build_chat_model, model_name

if TYPE_CHECKING:  # loaded with the first model call (llm/complete.py), not with the backend
    import openai
    from langchain_openai import ChatOpenAI

MAX_IDLE_PER_KEY = 64
"""Idle models kept per (provider, model, temperature, max_tokens); more are closed after use."""

_pools: dict[asyncio.AbstractEventLoop, ModelPool] = {}


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every LLM call (what httpx would build per client, built once)."""
    return ssl.create_default_context(cafile=certifi.where())


def _http_client(settings: Settings) -> openai.DefaultAsyncHttpxClient:
    import openai

    return openai.DefaultAsyncHttpxClient(timeout=settings.llm_timeout_s, verify=tls_context())


def _key(settings: Settings, temperature: float, max_tokens: int, model: str | None) -> Hashable:
    # Everything build_chat_model reads: two backends on one loop with other settings never share.
    return (
        base_url(settings),
        model or model_name(settings),
        settings.resolved_provider,
        settings.openrouter_api_key,
        settings.llm_api_key,
        settings.llm_timeout_s,
        settings.openrouter_site_url,
        settings.openrouter_app_name,
        temperature,
        max_tokens,
    )


class ModelPool:
    """Idle chat models of one event loop, by key; each owns one HTTP client."""

    def __init__(self) -> None:
        self._idle: dict[Hashable, list[tuple[ChatOpenAI, Any]]] = {}
        self._users = 0

    @contextlib.asynccontextmanager
    async def lend(self, settings: Settings, **options: Any) -> AsyncIterator[ChatOpenAI]:
        key = _key(settings, options["temperature"], options["max_tokens"], options.get("model"))
        idle = self._idle.setdefault(key, [])
        if idle:
            chat, http = idle.pop()
        else:
            http = _http_client(settings)
            try:
                chat = build_chat_model(settings, http_async_client=http, **options)
            except BaseException:
                await http.aclose()
                raise
        try:
            yield chat
        finally:
            # Last in, first out: the next call gets the warmest connection.
            if self._users > 0 and len(idle) < MAX_IDLE_PER_KEY and not http.is_closed:
                idle.append((chat, http))
            else:
                await http.aclose()

    async def aclose(self) -> None:
        models, self._idle = self._idle, {}
        for idle in models.values():
            for _chat, http in idle:
                with contextlib.suppress(Exception):
                    await http.aclose()


@contextlib.asynccontextmanager
async def pooled_models() -> AsyncIterator[ModelPool]:
    """For a server's lifespan: calls on the running loop reuse models until it ends."""
    loop = asyncio.get_running_loop()
    pool = _pools.setdefault(loop, ModelPool())
    pool._users += 1
    try:
        yield pool
    finally:
        pool._users -= 1
        if pool._users == 0:
            _pools.pop(loop, None)
            await pool.aclose()


@contextlib.asynccontextmanager
async def lend_chat_model(settings: Settings, **options: Any) -> AsyncIterator[ChatOpenAI]:
    """A chat model for one call: from the loop's pool if it has one, else made and closed here.

    `options`: temperature, max_tokens and optionally model, as for build_chat_model.
    """
    pool = _pools.get(asyncio.get_running_loop())
    if pool is not None:
        async with pool.lend(settings, **options) as chat:
            yield chat
        return
    # A client per call, closed here: LangChain's shared default client would outlive the
    # event loop it was made on (the backend and a notebook run different loops).
    async with _http_client(settings) as http:
        yield build_chat_model(settings, http_async_client=http, **options)
