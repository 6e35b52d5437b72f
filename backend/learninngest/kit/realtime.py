"""`kit.subscribe(token)`: listen to Realtime from a cell, as a browser does with `@inngest/realtime`.

The token is what `inngest.experimental.realtime.get_subscription_token` hands back
(`{"channel", "topics", "key"}`); the subscription opens the Inngest server's
/v1/realtime/connect socket with it, and a thread collects every message that comes, so
cells can publish and then look. A refused token raises `SubscribeRefused` with the server's
status and reason (an expired token: 401 "token is expired").
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from learninngest.kit.cells import _stack

if TYPE_CHECKING:
    from learninngest.kit.stack import Stack


class SubscribeRefused(RuntimeError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


class Subscription:
    """An open Realtime socket; `messages` grows as they arrive (oldest first)."""

    def __init__(self, socket: ClientConnection, token: Mapping[str, Any]) -> None:
        self.channel = str(token.get("channel", ""))
        self.topics = list(token.get("topics", []))
        self.messages: list[dict[str, Any]] = []
        self._socket = socket
        self._arrived = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="realtime-subscription", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for frame in self._socket:
                with self._arrived:
                    self.messages.append(json.loads(frame))
                    self._arrived.notify_all()
        except (ConnectionClosed, OSError, ValueError):
            pass

    def wait(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The first `count` messages, once they have come (TimeoutError after `timeout` s)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.messages)} of {count} messages came in {timeout:g} s")
                self._arrived.wait(left)
            return self.messages[:count]

    def wait_until(
        self, done: Callable[[dict[str, Any]], bool], timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """Every message up to the first one `done` is true of, once it has come."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for number, message in enumerate(self.messages, 1):
                    if done(message):
                        return self.messages[:number]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no such message among {len(self.messages)} in {timeout:g} s")
                self._arrived.wait(left)

    def close(self) -> None:
        self._socket.close()
        self._reader.join(5)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Subscription {self.channel} {self.topics}: {len(self.messages)} message(s)>"


def subscribe(token: Mapping[str, Any], *, stack: Stack | None = None) -> Subscription:
    """Open a Realtime subscription with `token` on the stack's Inngest server."""
    base = _stack(stack).inngest_url
    url = f"ws{base[4:]}/v1/realtime/connect?token={quote(str(token['key']))}"
    try:
        socket = connect(url, open_timeout=10)
    except InvalidStatus as refused:
        body = refused.response.body or b""
        try:
            reason = str(json.loads(body)["error"])
        except (ValueError, KeyError, TypeError):
            reason = body.decode(errors="replace")
        raise SubscribeRefused(refused.response.status_code, reason) from None
    return Subscription(socket, token)
