"""RunStream: what the worker tells a request's stream, never failing the run for it.

The stream is a view: if its channel is down (Redis gone), the run goes on and the
result is still saved by step "save"; only the live view is lost, and one line says so.
"""

from __future__ import annotations

import logging
from typing import Any

from learninngest.stream.base import Channel, EventType

log = logging.getLogger("learninngest.worker")


class RunStream:
    def __init__(self, channel: Channel | None, request_id: str) -> None:
        self.channel = channel
        self.request_id = request_id
        self.attempt = 0
        self._warned = False

    async def start_attempt(self, attempt: int) -> None:
        """Attempt `attempt` starts: after a failed one, readers drop the partial text."""
        self.attempt = attempt
        if attempt > 1:
            await self._publish(EventType.retry, {"attempt": attempt})
        await self._publish(EventType.status, {"status": "running", "attempt": attempt})

    async def token(self, text: str) -> None:
        await self._publish(EventType.token, {"text": text, "attempt": self.attempt})

    async def text_complete(self) -> None:
        """The attempt's text is all published: a channel that batches sends the rest now,
        so readers have every token before the step ends and the result is saved."""
        if self.channel is None:
            return
        try:
            await self.channel.flush(self.request_id)
        except Exception as exc:  # any channel failure: the run must go on
            if not self._warned:
                log.warning("stream channel unavailable (flush: %s); the run goes on", exc)
                self._warned = True

    async def done(self, **result: Any) -> None:
        await self._publish(EventType.done, result)

    async def _publish(self, type: EventType, data: dict[str, Any]) -> None:
        if self.channel is None:
            return
        try:
            await self.channel.publish(self.request_id, type, data)
        except Exception as exc:  # any channel failure: the run must go on
            if not self._warned:
                log.warning("stream channel unavailable (%s: %s); the run goes on", type, exc)
                self._warned = True
