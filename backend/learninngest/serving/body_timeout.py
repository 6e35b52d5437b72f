"""ASGI middleware: a request body must arrive within `seconds`, or the answer is 408.

uvicorn bounds idle keep-alive connections but not a body that never ends: a client that
sends fewer bytes than its Content-Length holds the connection (and a file descriptor)
until it gives up. This middleware reads the whole body first, under one deadline from
the moment the headers were complete, then replays it to the app; past the deadline it
answers 408 with `Connection: close` and the app never runs.

An app may name requests whose body it reads as a stream and bounds itself
(`app.state.streamed_body(scope) -> bool`: the engine's Realtime publishes, forwarded to
subscribers as they arrive): those go to the app as they come. One the app answers before
its body ended (a refusal: no key, a bad token) is answered with `Connection: close`, so the
server drops the connection instead of reading and discarding the rest for as long as the
client goes on sending it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("learninngest.server")

DEFAULT_BODY_TIMEOUT_S = 30.0


class BodyTimeout:
    def __init__(self, app: ASGIApp, seconds: float = DEFAULT_BODY_TIMEOUT_S) -> None:
        self.app = app
        self.seconds = seconds
        self._looked_up = False  # the app's streamed-body test, read at the first request
        self._streams: Callable[[Scope], bool] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._streamed(scope):
            await self.app(scope, *_closed_if_unread(receive, send))
            return
        messages: list[Message] = []
        try:
            async with asyncio.timeout(self.seconds):
                while True:
                    message = await receive()
                    messages.append(message)
                    if message["type"] != "http.request" or not message.get("more_body", False):
                        break
        except TimeoutError:
            client = scope.get("client")
            log.warning(
                "request body not received within %gs: answered 408 (%s %s from %s)",
                self.seconds,
                scope.get("method"),
                scope.get("path"),
                f"{client[0]}:{client[1]}" if client else "?",
            )
            response = JSONResponse(
                {"detail": f"The request body did not arrive within {self.seconds:g} s; send it whole."},
                status_code=408,
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        replay = iter(messages)

        async def replayed() -> Message:
            for message in replay:
                return message
            return await receive()

        await self.app(scope, replayed, send)

    def _streamed(self, scope: Scope) -> bool:
        if not self._looked_up:  # once, at the first request: the app has set its state by then
            found = getattr(getattr(self.app, "state", None), "streamed_body", None)
            self._streams, self._looked_up = (found if callable(found) else None), True
        return self._streams is not None and bool(self._streams(scope))


def _closed_if_unread(receive: Receive, send: Send) -> tuple[Receive, Send]:
    """`receive` noting the body's end, and `send` adding `Connection: close` to an answer
    that starts before it."""
    ended = False

    async def noting() -> Message:
        nonlocal ended
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            ended = True
        return message

    async def closing(message: Message) -> None:
        if message["type"] == "http.response.start" and not ended:
            headers = [h for h in message.get("headers", []) if h[0].lower() != b"connection"]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return noting, closing
