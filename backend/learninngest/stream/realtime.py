"""The Realtime channel: token streams through Inngest's own Realtime, no Redis of one's own.

The worker publishes a request's events to one Realtime channel (`STREAM_REALTIME_CHANNEL`,
topic `chat`) with POST /v1/realtime/publish, the way `inngest.experimental.realtime`
does; tokens go in batches (one POST per `flush_s` or `max_batch` tokens), the other events
flush the batch at once. Every backend process keeps one subscription to that channel (the
/v1/realtime/connect socket, a token from POST /v1/realtime/token) and files what comes in
per request, so a reader resumes with Last-Event-ID and sees the events of runs other
processes execute, as with Redis. Works against the local engine, the Dev Server and Cloud.

Ids are made by the publisher: microseconds since the epoch, one more than the last when
that is not larger, so they grow in a request's order. What comes in is filed in the shared
bounded log (stream/event_log.py) under those ids. A message on the channel that is not
ours, or carries an id that is not an integer of 0..2**63-1 (another publisher's), is
dropped whole: ids must compare as numbers for Last-Event-ID resumes. Realtime keeps
nothing: events published while a process's socket is down (starting, reconnecting) are
missing from its view; the result itself is in the store, as with every channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from typing import Any
from urllib.parse import quote

import httpx
import websockets

from learninngest.stream.base import TERMINAL, EventType, StreamEvent
from learninngest.stream.event_log import MAX_GIVEN_ID, EventLog

log = logging.getLogger("learninngest.stream")
TOPIC = "chat"
ECHO_WAIT_S = 5.0
"""How long a non-token publish waits to see its own event come back (so a reader in this
process finds it as soon as publish returns); past it publish returns anyway."""
RECONNECT_S = 1.0
START_WAIT_S = 10.0


def _given_id(raw: object) -> int:
    """A publisher's event id as the log's integer; ValueError for anything else."""
    text = raw if isinstance(raw, str) else str(raw) if type(raw) is int else ""
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_GIVEN_ID:
        raise ValueError(f"not an event id: {raw!r}")
    return int(text)


class RealtimeChannel:
    def __init__(
        self,
        api_url: str,
        *,
        signing_keys: list[str] | None = None,
        channel: str = "learninngest-chat",
        ttl_s: float = 3600,
        flush_s: float = 0.05,
        max_batch: int = 64,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.url = f"{self.api_url}/v1/realtime (channel {channel})"
        self.channel = channel
        self.ttl_s = ttl_s
        self.flush_s = flush_s
        self.max_batch = max_batch
        self._headers = [{"authorization": f"Bearer {k}"} for k in signing_keys or [] if k] or [{}]
        # A dropped log's request forgets its sender too (one that ended without done or error).
        self._log = EventLog(ttl_s=ttl_s, given_ids=True, on_drop=self._forget_sender)
        self._lock = threading.Lock()  # of _last_id
        self._last_id = 0
        self._outbox: dict[str, list[dict[str, Any]]] = {}
        self._sending: dict[str, asyncio.Lock] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._in_flight: dict[str, str] = {}  # request id -> last id of the batch being sent
        self._http: httpx.AsyncClient | None = None
        self._subscriber: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._settled = asyncio.Event()  # the first attempt to subscribe has ended, either way
        self._closed = False
        self._warned = False

    # --- publishing (the worker)
    async def publish(self, request_id: str, type: EventType, data: dict[str, Any]) -> str:
        await self._ensure_subscribed()
        event_id = self._next_id()
        self._outbox.setdefault(request_id, []).append({"id": event_id, "type": str(type), "data": data})
        if EventType(type) is EventType.token and len(self._outbox[request_id]) < self.max_batch:
            if request_id not in self._timers:
                self._timers[request_id] = asyncio.create_task(self._flush_later(request_id))
            return event_id
        await self._flush(request_id)
        if EventType(type) is not EventType.token:
            await self._wait_for(request_id, event_id)
        return event_id

    async def flush(self, request_id: str) -> None:
        """Send the request's waiting tokens now and wait (bounded) until they have come back."""
        waiting = self._outbox.get(request_id)
        last = waiting[-1]["id"] if waiting else self._in_flight.get(request_id)
        if last is None:
            return
        await self._flush(request_id)
        await self._wait_for(request_id, last)

    def _next_id(self) -> str:
        with self._lock:
            self._last_id = max(self._last_id + 1, time.time_ns() // 1000)
            return str(self._last_id)

    async def _flush_later(self, request_id: str) -> None:
        await asyncio.sleep(self.flush_s)
        self._timers.pop(request_id, None)
        # A failed batch is lost to the view only: the run goes on, and the request's next
        # non-token publish (which RunStream reports, once) meets the same failure.
        with contextlib.suppress(Exception):
            await self._flush(request_id)

    async def _flush(self, request_id: str) -> None:
        """Send what waits for `request_id` as one message; one sender per request keeps order."""
        lock = self._sending.setdefault(request_id, asyncio.Lock())
        async with lock:
            batch = self._outbox.pop(request_id, [])
            if not batch:
                return
            self._in_flight[request_id] = batch[-1]["id"]
            if any(EventType(e["type"]) in TERMINAL for e in batch):
                self._sending.pop(request_id, None)
                if (timer := self._timers.pop(request_id, None)) is not None:
                    timer.cancel()
            body = {"request_id": request_id, "events": batch}
            url = f"{self.api_url}/v1/realtime/publish?channel={quote(self.channel)}&topic={TOPIC}"
            reply = await self._post(url, body)
            try:
                reply.raise_for_status()
            finally:
                self._in_flight.pop(request_id, None)
            # This process's readers have the batch at once: they need not wait for the echo,
            # which a subscription still (re)opening would miss (Realtime keeps no history).
            self._log.add(request_id, [(int(e["id"]), EventType(e["type"]), e["data"]) for e in batch])

    async def _wait_for(self, request_id: str, event_id: str) -> None:
        if not self._connected.is_set():
            return
        # Ids grow: anything from this id on means the event has come back.
        await self.read(request_id, after=str(int(event_id) - 1), wait=ECHO_WAIT_S)

    # --- the subscription (every process that publishes or reads keeps one)
    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=10.0)
        return self._http

    async def _post(self, url: str, body: Any) -> httpx.Response:
        """POST with the signing key, then its fallback when the server refuses the first."""
        reply = None
        for headers in self._headers:
            reply = await self._client().post(url, json=body, headers=headers)
            if reply.status_code not in (401, 403):
                break
        assert reply is not None  # _headers is never empty
        return reply

    async def _ensure_subscribed(self, wait_s: float = ECHO_WAIT_S) -> None:
        if self._subscriber is None and not self._closed:
            self._subscriber = asyncio.create_task(self._subscribe_forever(), name="realtime-channel")
        # Wait while the first socket opens; once an attempt has failed (the server is away,
        # or serves no Realtime) every publish would wait in vain, so none does until it is back.
        if not self._settled.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._settled.wait()

    async def _token(self) -> str:
        topics = [{"kind": "run", "channel": self.channel, "name": TOPIC}]
        reply = await self._post(f"{self.api_url}/v1/realtime/token", topics)
        reply.raise_for_status()
        return str(reply.json()["jwt"])

    async def _subscribe_forever(self) -> None:
        ws_url = "ws" + self.api_url[len("http") :] + "/v1/realtime/connect"
        while not self._closed:
            try:
                jwt = await self._token()
                async with websockets.connect(f"{ws_url}?token={quote(jwt)}", open_timeout=10) as ws:
                    self._connected.set()
                    self._settled.set()
                    if self._warned:
                        log.info("realtime stream channel subscribed again")
                        self._warned = False
                    async for frame in ws:
                        self._receive(frame)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server is away: streams pause, results still come
                self._settled.set()
                if not self._warned:
                    log.warning(
                        "realtime stream channel unavailable (%s: %s); retrying", type(exc).__name__, exc
                    )
                    self._warned = True
            finally:
                self._connected.clear()
            await asyncio.sleep(RECONNECT_S)

    def _receive(self, frame: str | bytes) -> None:
        try:
            message = json.loads(frame)
            if message.get("kind") != "data" or message.get("topic") != TOPIC:
                return
            body = message["data"]
            request_id = str(body["request_id"])
            events = [(_given_id(e["id"]), EventType(e["type"]), dict(e["data"])) for e in body["events"]]
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # not one of ours: someone else publishes on the channel
        self._log.add(request_id, events)

    # --- reading (the API's SSE stream)
    async def read(self, request_id: str, *, after: str | None, wait: float) -> list[StreamEvent]:
        await self._ensure_subscribed(wait_s=min(wait, ECHO_WAIT_S))
        if wait <= 0:
            # Read-your-writes in one process: a look that does not wait sends this process's
            # unsent tokens of the request and waits for them to come back (a waiting read
            # gets them with the next batch).
            await self.flush(request_id)
        return await self._log.read(request_id, after=after, wait=wait)

    def valid_id(self, event_id: str) -> bool:
        return event_id.isascii() and event_id.isdigit() and len(event_id) < 21

    def _forget_sender(self, request_id: str) -> None:
        sending = self._sending.get(request_id)
        if sending is not None and not sending.locked():
            del self._sending[request_id]

    async def close(self) -> None:
        self._closed = True
        for request_id in list(self._outbox):
            with contextlib.suppress(Exception):
                await self._flush(request_id)
        for task in [*self._timers.values(), self._subscriber]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._timers.clear()
        self._subscriber = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self._log.clear()

    async def start(self) -> None:
        """Subscribe now, so the view of this process misses nothing of the first requests
        (waits up to START_WAIT_S for the socket; an Inngest server still away is retried)."""
        await self._ensure_subscribed(wait_s=START_WAIT_S)
        if not self._connected.is_set():
            log.warning(
                "realtime stream channel not subscribed yet at %s; retrying in the background", self.api_url
            )

    def __repr__(self) -> str:
        return f"<RealtimeChannel {self.api_url} channel={self.channel!r}>"
