"""Events in: check a body of the event API, store its events, de-duplicate by sender id, then
wake waits, cancel runs and hand triggered functions to flow control.

`POST /e/{key}` (http/events.py) takes one event object or an array and answers
`{"ids", "status"}` with one internal ULID per event. Like the real server: ids come from the SDK's
`x-inngest-event-id-seed` when it sends one (a retried send gets the same ids and starts
nothing again), and an invalid event stops the body there: the events before it are stored
and their ids come back with the error.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from learninngest.engine.cel.expressions import evaluate
from learninngest.engine.clock import Clock
from learninngest.engine.flow.control import FlowControl
from learninngest.engine.ids import UlidFactory
from learninngest.engine.json_depth import loads_bounded
from learninngest.engine.run.lifecycle import RunLifecycle
from learninngest.engine.settings import EngineSettings
from learninngest.engine.state.db import State
from learninngest.engine.state.models import PauseKind
from learninngest.engine.sync.functions import name_matches
from learninngest.engine.sync.registry import Registry

log = logging.getLogger("learninngest.engine")

# The Dev Server's limits (pkg/consts AbsoluteMaxEventSize and MaxEvents, checked by
# pkg/eventstream on each event's raw JSON): 3 MiB per event, 5000 events per request,
# no limit on the body as a whole. Over either answers 400.
MAX_EVENT_BYTES = 3 * 1024 * 1024
MAX_EVENTS = 5000
# The engine's own guard (413): it reads a body whole where the Dev Server streams it, so it
# caps what one request may make it hold. Far above any body the SDKs' own suites send.
MAX_BODY_BYTES = 64 * 1024 * 1024


class EventRefused(ValueError):
    def __init__(self, message: str, status: int = 400, accepted: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        # The valid events before the refused one (the real server stores them).
        self.accepted = accepted or []


def validate_events(raw: bytes) -> list[dict[str, Any]]:
    """Pure: parse and check a body of the event API; raises EventRefused with a reason."""
    if len(raw) > MAX_BODY_BYTES:
        raise EventRefused(f"body is {len(raw)} bytes; this engine's limit is {MAX_BODY_BYTES}", 413)
    try:
        payload = loads_bounded(raw)  # a body nested 100,000 deep is a 400, not a RecursionError
    except ValueError as exc:
        raise EventRefused(f"body is not valid JSON: {exc}") from None
    items = payload if isinstance(payload, list) else [payload]
    # Sizes are measured only when the body is large enough for one event to be over.
    sizes = _raw_sizes(raw, isinstance(payload, list)) if len(raw) > MAX_EVENT_BYTES else None
    out: list[dict[str, Any]] = []
    for n, item in enumerate(items):
        try:
            if n == MAX_EVENTS:
                raise EventRefused(f"Cannot have more than {MAX_EVENTS} events in a batch")
            if sizes is not None and sizes[n] > MAX_EVENT_BYTES:
                size = f"Max {MAX_EVENT_BYTES} bytes / Size {sizes[n]} bytes"
                raise EventRefused(f"event {n}: Event is over the max size: {size}")
            out.append(_validate_event(n, item))
        except EventRefused as exc:
            exc.accepted = out
            raise
    return out


def _validate_event(n: int, item: Any) -> dict[str, Any]:
    """One event of a body, checked and normalized; raises EventRefused naming it."""
    where = f"event {n}"
    if not isinstance(item, dict):
        raise EventRefused(f"{where}: an event must be a JSON object")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise EventRefused(f"{where}: `name` must be a non-empty string")
    if name.startswith("inngest/"):
        raise EventRefused(f"{where}: names starting with inngest/ are reserved for the server")
    data = item.get("data")
    if data is not None and not isinstance(data, dict):
        raise EventRefused(f"{where}: `data` must be an object")
    ts, ev_id = item.get("ts"), item.get("id")
    if ts is not None and (not isinstance(ts, int) or isinstance(ts, bool)):
        raise EventRefused(f"{where}: `ts` must be an integer (unix ms)")
    if ev_id is not None and not isinstance(ev_id, str):
        raise EventRefused(f"{where}: `id` must be a string")
    event: dict[str, Any] = {
        "name": name,
        "data": {k: v for k, v in (data or {}).items() if k != "_inngest"},
    }
    for key in ("id", "ts", "user", "v"):
        if item.get(key) not in (None, ""):
            event[key] = item[key]
    return event


def _raw_sizes(raw: bytes, is_list: bool) -> list[int]:
    """Bytes of each event's JSON as sent (what the Dev Server measures), not re-encoded."""
    text = raw.decode()
    if not is_list:
        return [len(text.strip().encode())]
    decoder, pos = json.JSONDecoder(), text.index("[") + 1
    sizes: list[int] = []
    while True:
        while text[pos] in " \t\r\n,":
            pos += 1
        if text[pos] == "]":
            return sizes
        _, end = decoder.raw_decode(text, pos)
        sizes.append(len(text[pos:end].encode()))
        pos = end


class Intake:
    def __init__(
        self,
        settings: EngineSettings,
        state: State,
        clock: Clock,
        registry: Registry,
        runs: RunLifecycle,
        flow: FlowControl,
        ids: UlidFactory,
    ) -> None:
        self.settings = settings
        self.state = state
        self.clock = clock
        self.registry = registry
        self.runs = runs
        self.flow = flow
        self.ids = ids

    def ingest(
        self,
        events: list[dict[str, Any]],
        source: str = "api",
        match: bool = True,
        seeded: list[str] | None = None,
    ) -> list[str]:
        """Store events and act on them; returns their internal ids in order.

        `seeded`: internal ids derived from the sender's seed (ids.seeded_ids), one per event.
        """
        out = []
        with self.state.tx():
            for n, event in enumerate(events):
                out.append(self._one(dict(event), source, match, seeded[n] if seeded else None))
        return out

    def ingest_internal(self, event: dict[str, Any], match: bool = True) -> str:
        """The engine's own events (inngest/function.failed, ...), allowed the inngest/ prefix."""
        return self.ingest([event], source="engine", match=match)[0]

    def _one(self, event: dict[str, Any], source: str, match: bool, seeded: str | None = None) -> str:
        now = self.clock.now()
        if seeded is not None and self.state.get_event(seeded) is not None:
            # The same send again (the SDK retried it after a timeout or a 5xx): same id, no
            # new run. The Dev Server stores the copy too (its event store inserts every event
            # it receives) and drops the copy's runs when scheduling (the run id is idempotent
            # on the event id); GET /v1/events lists both copies.
            event.setdefault("ts", int(now * 1000))
            event.setdefault("data", {})
            event["id"] = str(event.get("id") or seeded)
            self.state.insert_event_copy(seeded, event, now)
            log.info("event received name=%s event_id=%s again (retried send): no run", event["name"], seeded)
            return seeded
        internal_id = seeded or self.ids.new()
        given = event.get("id")
        duplicate = bool(given) and self.state.event_id_seen(str(given), now)
        event["id"] = str(given) if given else internal_id
        event.setdefault("ts", int(now * 1000))
        event.setdefault("data", {})
        self.state.insert_event(internal_id, event, now, source, duplicate)
        if duplicate:
            log.info(
                "event received name=%s event_id=%s duplicate id=%s: no run",
                event["name"],
                internal_id,
                given,
            )
            return internal_id
        if source == "api":
            log.info("event received name=%s event_id=%s", event["name"], internal_id)
        if match:
            waited = self._wake_waits(event)
            cancels = self._cancel_runs(event, now)
            started = self._start_runs(event, internal_id, now)
            if source == "api" and not (waited or cancels or started):
                # The engine's own events (inngest/function.finished...) often have no listener.
                log.warning(
                    "event matched no function name=%s event_id=%s: is the app synced? "
                    "(learninngest engine -u URL, or POST /v1/apps/sync)",
                    event["name"],
                    internal_id,
                )
        return internal_id

    def _wake_waits(self, event: dict[str, Any]) -> bool:
        """Resume the runs waiting for this event; True when any run was waiting for its name."""
        waiting = self.state.runs_waiting_for(event["name"])
        for run in waiting:
            # Each of the run's waits for this name is a pause of its own: one event may end
            # several of them (as on the real server, where each pause matches on its own).
            for pause in [
                p for p in run.pauses if p["kind"] == PauseKind.WAIT and p.get("event") == event["name"]
            ]:
                cond = pause.get("if")
                if not cond or evaluate(cond, {"event": run.event, "async": event}):
                    self.runs.resume(run, pause["step_id"], event)
        return bool(waiting)

    def _cancel_runs(self, event: dict[str, Any], now: float) -> bool:
        """Cancel the runs this event cancels; True when any function cancels on its name."""
        hits = {
            fn.slug: fn
            for fn in self.registry.all()
            for c in fn.cancels
            if name_matches(c.event, event["name"])
        }
        for run in self.state.active_runs_of(list(hits)):
            for c in hits[run.function_slug].cancels:
                if not name_matches(c.event, event["name"]):
                    continue
                if c.timeout_s is not None and now - run.started > self.clock.real_delay(c.timeout_s):
                    continue
                if c.if_exp and not evaluate(c.if_exp, {"event": run.event, "async": event}):
                    continue
                self.runs.cancel(run, f"cancelled by event {event['name']} ({event['id']})")
                break
        return bool(hits)

    def _start_runs(self, event: dict[str, Any], internal_id: str, now: float) -> bool:
        """Start a run of every function the event triggers; True when any trigger names it.

        (A trigger whose expression is false still counts: the app is synced and listens.)
        """
        matched = False
        for fn in self.registry.all():
            named = [t for t in fn.triggers if t.event and name_matches(t.event, event["name"])]
            matched = matched or bool(named)
            if not any(t.matches(event) for t in named):
                continue
            if self.flow.repeated(fn, event, internal_id) is not None:
                continue  # said in the event's flow log and a log line
            self.flow.on_event(fn, event, internal_id)
        return matched
