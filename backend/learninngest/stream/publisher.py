"""RunStream: what the worker tells a request's stream, never failing the run for it.

The stream is a view: if its channel is down (Redis gone), the run goes on and the
result is still saved by step "save"; only the live view is lost, and one line says so.

Tokens are batched per `flush_s`: an attempt's first token goes out at once (the time to
first token stays the model's), later ones are joined and sent at most once per `flush_s`,
and whatever waits is sent before any other event and when the attempt's text is complete.
Readers get every piece of text, in order, in fewer events: one publish costs a Redis
round trip (~150 µs of CPU) or a wake-up of each reader, and a model sends a token every
few milliseconds. The batching sits here, above the channel, so every channel kind has it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from learninngest.stream.base import Channel, EventType

log = logging.getLogger("learninngest.worker")

DEFAULT_FLUSH_S = 0.05


class RunStream:
    def __init__(self, channel: Channel | None, request_id: str, *, flush_s: float = DEFAULT_FLUSH_S) -> None:
        self.channel = channel
        self.request_id = request_id
        self.flush_s = flush_s
        self.attempt = 0
        self._warned = False
        self._pending: list[str] = []  # token texts not yet published
        # Monotonic time of the attempt's last token event; None: none yet, the next goes at once.
        # (Not 0.0: the monotonic clock counts from boot, so on a machine up for less than
        # flush_s a 0.0 would hold back the first token.)
        self._last_sent: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._late_flush: asyncio.Task[None] | None = None  # the timer's flush, kept referenced
        self._order = asyncio.Lock()  # one publish at a time: events keep their order

    async def start_attempt(self, attempt: int) -> None:
        """Attempt `attempt` starts: after a failed one, readers drop the partial text."""
        await self.text_complete()
        self.attempt = attempt
        self._last_sent = None  # the new attempt's first token goes out at once
        if attempt > 1:
            await self._publish(EventType.retry, {"attempt": attempt})
        await self._publish(EventType.status, {"status": "running", "attempt": attempt})

    async def token(self, text: str) -> None:
        if self.channel is None or not text:
            return
        self._pending.append(text)
        last = self._last_sent
        if last is None or time.monotonic() - last >= self.flush_s:
            await self._flush()
        elif self._timer is None:
            # Nothing may wait longer than flush_s for the next token to carry it out.
            delay = last + self.flush_s - time.monotonic()
            self._timer = asyncio.get_running_loop().call_later(max(delay, 0.0), self._flush_later)

    async def text_complete(self) -> None:
        """The attempt's text is complete (or it failed): the tokens still waiting here go out,
        and a channel that batches sends the rest now, so readers have every token before the
        step ends and the result is saved."""
        await self._flush()
        if self._late_flush is not None:
            await self._late_flush
        if self.channel is None:
            return
        try:
            await self.channel.flush(self.request_id)
        except Exception as exc:  # any channel failure: the run must go on
            if not self._warned:
                log.warning("stream channel unavailable (flush: %s); the run goes on", exc)
                self._warned = True

    async def done(self, **result: Any) -> None:
        await self.text_complete()
        await self._publish(EventType.done, result)

    def _flush_later(self) -> None:
        self._timer = None
        self._late_flush = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        async with self._order:
            if not self._pending:
                return
            text, self._pending = "".join(self._pending), []
            self._last_sent = time.monotonic()
            await self._send(EventType.token, {"text": text, "attempt": self.attempt})

    async def _publish(self, type: EventType, data: dict[str, Any]) -> None:
        async with self._order:
            await self._send(type, data)

    async def _send(self, type: EventType, data: dict[str, Any]) -> None:
        if self.channel is None:
            return
        try:
            await self.channel.publish(self.request_id, type, data)
        except Exception as exc:  # any channel failure: the run must go on
            if not self._warned:
                log.warning("stream channel unavailable (%s: %s); the run goes on", type, exc)
                self._warned = True
