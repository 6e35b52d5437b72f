"""Builds the one `inngest.Inngest` client from settings (local engine, Dev Server or Cloud)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import inngest
from inngest._internal import net  # the SDK's own class, so its thread check keeps working

from learninngest.config import Settings
from learninngest.serving.plain_http import PlainTransport


class StraightToTransport(net.ThreadAwareAsyncHTTPClient):
    """The SDK's async client, handing a plain request straight to its transport.

    The SDK builds each request whole (headers, signature, body, timeout) and reads only the
    answer's status, headers and JSON: httpx's client layers around the transport (auth and
    redirect flows, cookie extraction) do nothing for it, and were a third of an event send's
    CPU (docs/performance.md, issue 19). A call with options, or to https://, goes through them.
    """

    async def send(self, request: httpx.Request, **options: Any) -> httpx.Response:
        if options or request.url.scheme != "http":
            return await super().send(request, **options)
        response = await self._transport.handle_async_request(request)
        response.request = request
        await response.aread()
        return response


def build_inngest_client(settings: Settings) -> inngest.Inngest:
    """The same client talks to the local engine, `inngest-cli dev` or Inngest Cloud.

    Origins come from settings rather than the SDK's own env lookup, so one process
    (a notebook kernel, a test) can hold several apps pointing at different servers.
    """
    return inngest.Inngest(
        app_id=settings.inngest_app_id,
        is_production=not settings.is_dev,
        api_base_url=settings.inngest_api_url,
        event_api_base_url=settings.inngest_event_url,
        signing_key=settings.inngest_signing_key,
        event_key=settings.inngest_event_key,
        logger=logging.getLogger("learninngest.inngest"),
    )


def bind_to_serving_loop(client: inngest.Inngest) -> httpx.AsyncClient | None:
    """Make the client's `send` use an async HTTP client of the thread now serving.

    The SDK remembers the thread its async HTTP client was made in and, when `send` is
    awaited in another thread, sends through a worker thread and a blocking client instead
    (a thread hop and a new connection's worth of CPU per event). The client is built with
    the app, before the server's loop runs (in another thread for the kit), so the lifespan
    calls this from the serving loop. Calls from other threads (a notebook cell) still work,
    through the SDK's fallback. The new client sends http:// through `PlainTransport`
    (serving/plain_http.py; https:// as before). Returns it, for the lifespan to close.
    """
    http = getattr(client, "_http_client", None)
    current = getattr(http, "_http_client", None)
    if http is None or not isinstance(current, net.ThreadAwareAsyncHTTPClient) or current.is_same_thread():
        return None  # another SDK layout, or already this thread's
    # Events to a local engine go over plain http://: a leaner transport than httpcore's.
    http._http_client = StraightToTransport(transport=PlainTransport()).initialize()
    return http._http_client


def release_blocking_client(client: inngest.Inngest) -> None:
    """Close the connections of the SDK's blocking HTTP client, leaving it a fresh one.

    `send` awaited in a thread other than the serving one (a notebook cell, a test) goes
    through that client, whose kept connection then outlived the app: its socket was closed
    only when the garbage collector found it, with a ResourceWarning wherever that happened.
    The lifespan calls this as the app stops; a later `send` opens a new connection.
    """
    http = getattr(client, "_http_client", None)
    blocking = getattr(http, "_http_client_sync", None)
    if isinstance(blocking, httpx.Client):
        http._http_client_sync = httpx.Client()  # type: ignore[union-attr]
        blocking.close()
