"""GET /api/v1/chat/{id}/stream: the run's events over Server-Sent Events, as they happen.

Events: `status` (pending, then running with the attempt number), `token` (text deltas),
`retry` (a new attempt starts: drop the partial text), and a last `done` (content, usage,
model) or `error`. The tokens come from the stream channel (stream/); the last event is
always read from the result store, the durable record step "save" wrote. A stream opened
after the request finished gets that last event at once. `Last-Event-ID` (sent by
EventSource when it reconnects) resumes after the last event the client saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from learninngest.api.auth import Caller, CallerDep
from learninngest.api.deps import ChannelDep, SettingsDep, StoreDep, WaitersDep
from learninngest.api.errors import BadRequest
from learninngest.api.results import load
from learninngest.api.schemas import Problem
from learninngest.api.waiters import ResultWaiters, TooManyWaiters, Waiter
from learninngest.config import Settings
from learninngest.logs import request_context
from learninngest.store.base import ChatRecord, ResultStore, Status
from learninngest.stream.base import TERMINAL, Channel, EventType, StreamEvent
from learninngest.stream.sse import comment, frame, retry_hint

router = APIRouter(prefix="/api/v1", tags=["chat"])
log = logging.getLogger("learninngest.api")

READ_WAIT_S = 30.0
"""How long one channel read waits for new events (the loop goes on after it)."""
CHANNEL_RETRY_S = 1.0
"""Pause before reading a channel again after it failed (Redis down)."""


def final_event(record: ChatRecord) -> bytes:
    """The last event of every stream, from the stored record (never from the channel)."""
    if record.status is Status.done:
        data: dict[str, Any] = {
            "content": record.content or "",
            "model": record.model,
            "usage": record.usage or {},
            "attempts": record.attempts,
        }
        return frame(EventType.done, data)
    return frame(
        EventType.error, {"error": record.error or "the request failed", "attempts": record.attempts}
    )


def status_event(record: ChatRecord) -> bytes:
    status = "running" if record.attempts else "pending"
    return frame(EventType.status, {"status": status, "attempt": record.attempts or 0})


def view(event: StreamEvent) -> bytes:
    return frame(event.type, event.data, event.id)


@router.get(
    "/chat/{request_id}/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events until done or error"},
        400: {"model": Problem},
        404: {"model": Problem},
    },
)
async def chat_stream(
    request_id: str,
    store: StoreDep,
    channel: ChannelDep,
    waiters: WaitersDep,
    settings: SettingsDep,
    caller: CallerDep,
    last_event_id: str | None = Header(
        default=None, description="Resume after this event id (EventSource sends it on reconnect)"
    ),
) -> StreamingResponse:
    """Follow a request: its status, its answer token by token, then its stored result."""
    await load(store, request_id, caller)  # 404 now (also another key's request), before the stream starts
    if last_event_id is not None and not channel.valid_id(last_event_id):
        # Not echoed: the header is the client's, of any length (only its length is said).
        raise BadRequest(
            f"The Last-Event-ID header ({len(last_event_id)} characters) is not an id this stream "
            "sent; reconnect without it to start from the beginning."
        )
    events = follow(request_id, store, channel, waiters, settings, last_event_id, caller)
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        # No cache, and no buffering in nginx-like proxies: each event must go out at once.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def follow(
    request_id: str,
    store: ResultStore,
    channel: Channel,
    waiters: ResultWaiters,
    settings: Settings,
    last_event_id: str | None,
    caller: Caller,
) -> AsyncIterator[bytes]:
    """The stream's bytes: replay after `last_event_id`, follow live, end with the stored result."""
    with request_context(request_id):
        yield retry_hint()
        record = await load(store, request_id, caller)
        last = last_event_id
        if record.final:
            if last is not None:  # a resume: what the client missed first
                for event in await _read(channel, request_id, last, 0):
                    if event.type not in TERMINAL:
                        yield view(event)
            yield final_event(record)
            return
        yield status_event(record)
        clock = asyncio.get_running_loop()
        async with _watch(waiters, request_id) as waiter:
            reading: asyncio.Task[list[StreamEvent]] | None = None
            waking: asyncio.Task[Any] | None = None
            sent_at = clock.time()  # a heartbeat goes out after STREAM_HEARTBEAT_S of silence
            try:
                while True:
                    reading = reading or asyncio.create_task(_read(channel, request_id, last, READ_WAIT_S))
                    waking = waking or asyncio.create_task(_wake(waiter, settings))
                    quiet_left = sent_at + settings.stream_heartbeat_s - clock.time()
                    done, _ = await asyncio.wait(
                        {reading, waking}, timeout=max(0.0, quiet_left), return_when=asyncio.FIRST_COMPLETED
                    )
                    maybe_final = waking in done
                    if waking in done:
                        waking = None
                    if reading in done:
                        for event in reading.result():
                            last = event.id
                            if event.type in TERMINAL:
                                maybe_final = True  # the store has the result: read it below
                            else:
                                yield view(event)
                                sent_at = clock.time()
                        reading = None
                    if clock.time() - sent_at >= settings.stream_heartbeat_s:
                        yield comment("heartbeat")
                        sent_at = clock.time()
                    if not maybe_final:
                        continue
                    current = await store.get(request_id)
                    if current is None:
                        yield frame(
                            EventType.error, {"error": "the request is gone (expired from the store)"}
                        )
                        return
                    if current.final:
                        # Tokens published before "save" that this reader has not seen yet.
                        for event in await _read(channel, request_id, last, 0):
                            if event.type not in TERMINAL:
                                yield view(event)
                        yield final_event(current)
                        return
            finally:
                for task in (reading, waking):
                    if task is not None:
                        task.cancel()


async def _read(channel: Channel, request_id: str, after: str | None, wait: float) -> list[StreamEvent]:
    """A channel read that never raises: a channel that is down only delays the view."""
    try:
        return await channel.read(request_id, after=after, wait=wait)
    except Exception as exc:
        log.warning("stream channel read failed (%s: %s); retrying", type(exc).__name__, exc)
        await asyncio.sleep(CHANNEL_RETRY_S if wait > 0 else 0)
        return []


async def _wake(waiter: Waiter | None, settings: Settings) -> None:
    """Until the store may have the result: a long-poll wake-up, or a re-read period."""
    if waiter is None:
        await asyncio.sleep(settings.long_poll_reread_s)
    else:
        await waiter.wait()


@contextlib.asynccontextmanager
async def _watch(waiters: ResultWaiters, request_id: str) -> AsyncIterator[Waiter | None]:
    """A long-poll waiter for the finish; past the waiter cap, None (the stream re-reads instead)."""
    try:
        async with waiters.watch(request_id) as waiter:
            yield waiter
    except TooManyWaiters:
        yield None
