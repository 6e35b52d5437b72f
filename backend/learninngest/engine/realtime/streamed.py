"""Streamed publishes: their bodies reach the route as they arrive, bounded here.

Every kit server reads a request's body whole before the app runs (serving/body_timeout.py),
which would hold a `text/stream` publish until its last byte. The real server forwards each
part to subscribers as it comes, for up to 15 minutes; so the engine names these requests
(`streams_body`, set as `app.state.streamed_body`), the body timeout lets them through, and
the route reads them with `parts`: each part within `IDLE_S` of the one before (the body
timeout's own default), the whole within `STREAM_MAX_S`, else `StreamStalled` (408).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request
from starlette.types import Scope

from learninngest.serving.router_bypass import route_path

IDLE_S = 30.0
STREAM_MAX_S = 15 * 60.0  # the real server's cap on a streamed publish
PUBLISH = "/v1/realtime/publish"
TEE = "/v1/realtime/publish/tee"


class StreamStalled(Exception):
    """The body stopped arriving, or went on too long; the message says which."""


def is_text_stream(scope: Scope) -> bool:
    """The request's first Content-Type is `text/stream` (the one the route reads too, so a
    second header cannot send a body past the timeout down the buffered path)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value == b"text/stream"
    return False


def streams_body(scope: Scope) -> bool:
    """A POST whose body the Realtime routes forward as it comes: a `text/stream` publish, a tee."""
    if scope.get("method") != "POST":
        return False
    path = route_path(scope)
    return path == TEE or (path == PUBLISH and is_text_stream(scope))


async def parts(request: Request) -> AsyncIterator[bytes]:
    """The body's parts as they arrive; StreamStalled past IDLE_S without one or STREAM_MAX_S
    in all (read at each request, so a test may shorten them)."""
    idle_s, max_s = IDLE_S, STREAM_MAX_S
    too_long = f"the stream went on for more than {max_s:g} s"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_s
    stream = request.stream().__aiter__()
    while True:
        wait = min(idle_s, deadline - loop.time())
        if wait <= 0:
            raise StreamStalled(too_long)
        try:
            async with asyncio.timeout(wait):
                part = await anext(stream)
        except StopAsyncIteration:
            return
        except ClientDisconnect:
            raise StreamStalled("the publisher went away before the end of its stream") from None
        except TimeoutError:
            if loop.time() >= deadline:
                raise StreamStalled(too_long) from None
            raise StreamStalled(f"no part of the stream arrived for {idle_s:g} s") from None
        if part:
            yield part
