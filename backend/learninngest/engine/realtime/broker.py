"""The broker: who listens to which topic, and handing each published message to them, in order.

Like the server's broadcaster, it keeps nothing: a message published while nobody listens
is gone, and a subscriber that joins later sees only what comes after. Each subscription has
an outbox drained by one task, so a publish never waits on a slow socket and every
subscriber gets messages in the order they were published. An outbox that overflows (a
subscriber that stopped reading) closes its subscription, with one log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from learninngest.engine.realtime.messages import STREAM_TOPIC, Message, Topic, TopicKind, chunk_json

log = logging.getLogger("learninngest.engine")
OUTBOX_LIMIT = 10_000
"""Frames a subscription may have waiting before the broker gives up on it."""

Send = Callable[[str], Awaitable[None]]


class RawFrame(str):
    """Bytes written to a `$stream` topic (/publish/tee), sent as they are: an SSE subscriber
    gets them without the `data: …` event around a message (the server's subSSE.Write), so
    the SSE a durable endpoint tees reads on as its own stream."""


class Subscription:
    """One subscriber (a socket, an SSE response): an outbox and the task that sends it."""

    def __init__(self, sub_id: str, protocol: str, send: Send) -> None:
        self.id = sub_id
        self.protocol = protocol
        self._send = send
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._pump = asyncio.create_task(self._run(), name=f"realtime-{protocol}-{sub_id}")
        self.closed = asyncio.Event()

    def deliver(self, frame: str) -> bool:
        if self.closed.is_set():
            return False
        if self._outbox.qsize() >= OUTBOX_LIMIT:
            log.warning("realtime subscription %s dropped: %d frames unread", self.id, OUTBOX_LIMIT)
            self.close()
            return False
        self._outbox.put_nowait(frame)
        return True

    def close(self) -> None:
        """Stop sending (what is queued is dropped); `closed` is set at once."""
        if not self.closed.is_set():
            self.closed.set()
            self._outbox.put_nowait(None)

    async def _run(self) -> None:
        try:
            while (frame := await self._outbox.get()) is not None:
                await self._send(frame)
        except Exception as exc:  # the peer went away: nothing more can reach it
            log.info("realtime subscription %s ended: %s", self.id, type(exc).__name__)
        finally:
            self.closed.set()

    async def wait_sent(self) -> None:
        """Until the pump has stopped (after close)."""
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump


class Broker:
    def __init__(self) -> None:
        self._topics: dict[str, dict[str, Subscription]] = {}
        self._subs: dict[str, tuple[Subscription, set[str]]] = {}

    def subscribe(self, sub: Subscription, topics: Iterable[Topic]) -> None:
        """Add `topics` to `sub`'s (a known subscription keeps the ones it had)."""
        _, keys = self._subs.setdefault(sub.id, (sub, set()))
        for topic in topics:
            keys.add(topic.key)
            self._topics.setdefault(topic.key, {})[sub.id] = sub

    def unsubscribe(self, sub_id: str, topics: Iterable[Topic]) -> None:
        entry = self._subs.get(sub_id)
        if entry is None:
            return
        for topic in topics:
            entry[1].discard(topic.key)
            self._forget(topic.key, sub_id)

    def drop(self, sub_id: str) -> None:
        """The subscription ended: take it off every topic."""
        entry = self._subs.pop(sub_id, None)
        for key in entry[1] if entry else ():
            self._forget(key, sub_id)

    def _forget(self, key: str, sub_id: str) -> None:
        subs = self._topics.get(key)
        if subs is not None:
            subs.pop(sub_id, None)
            if not subs:
                del self._topics[key]

    def publish(self, message: Message) -> int:
        """Hand `message` to every subscriber of its topics; how many got it."""
        return self._fan_out(message.topics(), message.to_json())

    def publish_chunk(self, message: Message, stream_id: str, data: str) -> int:
        return self._fan_out(message.topics(), chunk_json(stream_id, data, message))

    def write(self, env_id: str, channel: str, data: str) -> int:
        """Raw text to the channel's `$stream` topic, no message around it (/publish/tee)."""
        return self._fan_out([Topic(channel, STREAM_TOPIC, TopicKind.run, env_id)], RawFrame(data))

    def _fan_out(self, topics: list[Topic], frame: str) -> int:
        count = 0
        for topic in topics:
            for sub in list(self._topics.get(topic.key, {}).values()):
                count += sub.deliver(frame)
        return count

    def subscribers(self) -> int:
        return len(self._subs)

    async def close(self) -> None:
        """Tell every subscriber the server is closing (they reconnect elsewhere), then stop."""
        subs = [sub for sub, _ in self._subs.values()]
        for sub in subs:
            sub.close()
        for sub in subs:
            await sub.wait_sent()
        self._subs.clear()
        self._topics.clear()
