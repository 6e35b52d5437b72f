"""Typed run state: a run, its pauses, its timeline rows, and the statuses they take.

Statuses are StrEnums whose values are the strings the state file, REST v1 and the SDK have
always used, so old state files load unchanged and a status still compares equal to its name.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypedDict, cast


class RunStatus(StrEnum):
    SCHEDULED = "Scheduled"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    SKIPPED = "Skipped"  # singleton mode skip: recorded, never started


ACTIVE = (RunStatus.SCHEDULED, RunStatus.RUNNING)


class StepStatus(StrEnum):
    """The status of one row of a run's timeline (a step, a pause, a flow-control decision)."""

    PLANNED = "Planned"
    COMPLETED = "Completed"
    FAILED = "Failed"
    RETRYING = "Retrying"
    SLEEPING = "Sleeping"
    WAITING = "Waiting"
    INFERRING = "Inferring"
    TIMED_OUT = "TimedOut"
    INTERRUPTED = "Interrupted"  # an inference cut by an engine restart
    CANCELLED = "Cancelled"
    THROTTLED = "Throttled"
    SKIPPED = "Skipped"


class EngineOp(StrEnum):
    """The `op` of timeline rows the engine writes itself (rows of a step carry its opcode)."""

    RUN_COMPLETE = "RunComplete"
    UNSUPPORTED = "Unsupported"
    CALL = "Call"
    ENGINE = "Engine"
    THROTTLE = "Throttle"
    SINGLETON = "Singleton"
    TIMEOUT = "Timeout"
    DEBOUNCE = "Debounce"
    BATCH = "Batch"


class PauseKind(StrEnum):
    SLEEP = "sleep"
    WAIT = "wait"  # step.wait_for_event
    INVOKE = "invoke"  # step.invoke: waits for the invoked run's finished event
    AI = "ai"  # step.ai.infer: the engine makes the request


class _PauseRequired(TypedDict):
    kind: PauseKind  # stored as its string value
    step_id: str


# A pause in progress, as stored (a JSON object in the run's `waiting` column) and compared.
# `seq`: the timeline row to update when it ends; `deadline`: the real time it ends by itself
# (a sleep is over, a wait or an invoke timed out; None: never); a wait's `event` and its CEL
# condition `if`; an invoke's `invoke_event` (the invoked event's internal id).
_PauseOptional = TypedDict(
    "_PauseOptional",
    {
        "name": str,
        "seq": int,
        "deadline": float | None,
        "event": str,
        "if": str | None,
        "invoke_event": str,
    },
    total=False,
)


class Pause(_PauseRequired, _PauseOptional):
    pass


class StepRetry(TypedDict):
    """`Run.retries[step id]`: the attempt the retry makes and its real due time."""

    attempt: int
    due: float


class DeferStatus(StrEnum):
    """A defer's status, as the real server's `enums.DeferStatus` names them."""

    AFTER_RUN = "AfterRun"  # starts when the run ends
    ABORTED = "Aborted"  # `.abort()`: never starts
    REJECTED = "Rejected"  # refused (its input or meta): never starts, the run goes on


class _DeferRequired(TypedDict):
    fn_slug: str  # the companion function's slug (`<app id>-<function id>`)
    status: DeferStatus  # stored as its string value
    id: str  # the id the user wrote


class Defer(_DeferRequired, total=False):
    """`Run.defers[hashed id]`: one `defer()` of the run (run/defers.py)."""

    input: dict[str, Any]  # the event data of the run it starts (AfterRun only)
    meta: dict[str, Any]
    size: int  # bytes of `input`, counted toward the run's budget


class StepRow(TypedDict):
    """One row of a run's timeline as `State.steps_of` returns it."""

    seq: int
    run_id: str
    step_id: str
    name: str
    op: str
    attempt: int
    status: str
    started: float
    ended: float | None
    scheduled_for_intended: float | None
    intended_delay_ms: int | None
    output: Any
    error: Any


# Key of `Run.retries` for a retry of the function's own call (`stepId=step`: a failed call, or
# a step the call ran that errored), which waits beside the group's steps' and inferences'.
FUNCTION_RETRY = "step"


# A run is read and written several times per call: one encoder and the C scanner, built once,
# spare json.dumps and json.loads building and checking them again on every column.
_ENCODER = json.JSONEncoder(separators=(",", ":"))
# (scan_once is set in JSONDecoder.__init__; typeshed leaves it out.)
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def json_text(value: Any) -> str:
    """`json.dumps(value, separators=(",", ":"))`, the text every JSON column holds."""
    return _ENCODER.encode(value)


def json_load(text: str) -> Any:
    """`json.loads(text)` for a column's text: the same value, or the same error."""
    if text == "[]":
        return []
    if text == "{}":
        return {}
    try:
        value, end = _SCAN(text, 0)
    except (StopIteration, ValueError):
        end = -1
    if end != len(text):
        return json.loads(text)  # whitespace around it, or not JSON: json.loads decides
    return value


def json_value(text: str | None) -> Any:
    return None if text is None else json_load(text)


@dataclass
class Run:
    run_id: str
    function_slug: str
    function_version: int
    event_id: str
    event: dict[str, Any]
    events: list[dict[str, Any]]
    status: RunStatus = RunStatus.SCHEDULED
    started: float = 0.0
    ended: float | None = None
    output: Any = None
    memo: dict[str, Any] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    attempt: int = 0
    due: float | None = None
    # Pauses in progress (sleep, wait_for_event, invoke, ai), in the order they began. A run
    # may keep any number of them.
    pauses: list[Pause] = field(default_factory=list)
    # Planned step hashes of a parallel group in race mode (`opts.parallelMode: "race"`).
    race: list[str] = field(default_factory=list)
    # Steps of a group and inferences that failed and wait for their retry: step id ->
    # {"attempt": the attempt the retry makes, "due": real time of the retry}. Each counts its
    # own attempts and waits for its own backoff (the real server: one queue item per step).
    retries: dict[str, StepRetry] = field(default_factory=dict)
    parent_run_id: str | None = None
    parent_step_id: str | None = None
    cron: str | None = None
    request_version: int = -1  # `version` sent to the SDK: -1 until its first 206 says which
    # What `defer()` asked to start once the run ends: the step's hashed id -> the defer
    # (run/defers.py). Insert-only per id, as the real server's defer store.
    defers: dict[str, Defer] = field(default_factory=dict)
    # The (step id, event name) pairs of its waits as last loaded or saved: State.save_run
    # rewrites the run's `run_waits` rows only when they change.
    saved_waits: frozenset[tuple[str, str]] = field(default_factory=frozenset, repr=False, compare=False)
    # The write of the run's row (State.writes) this object was loaded from or saved as; None
    # when unknown (loaded by a query of its own, or finished): State.latest reads it again.
    written_at: int | None = field(default=None, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE

    def memoize(self, step_hash: str, value: Any) -> None:
        self.memo[step_hash] = value
        if step_hash not in self.stack:
            self.stack.append(step_hash)
        if step_hash in self.planned:
            self.planned.remove(step_hash)
        if step_hash in self.race:
            self.race.remove(step_hash)
        self.retries.pop(step_hash, None)

    def step_attempt(self, step_id: str) -> int:
        """The attempt a call of this step (of a group, or an inference) makes, from 0."""
        entry = self.retries.get(step_id)
        return 0 if entry is None else int(entry["attempt"])

    def retry_waits(self, step_id: str, now: float) -> bool:
        """The step failed and its retry is not due yet."""
        entry = self.retries.get(step_id)
        return entry is not None and float(entry["due"]) > now

    def ready_planned(self, now: float) -> list[str]:
        """Planned steps to call now: all but those waiting for their retry."""
        return [t for t in self.planned if not self.retry_waits(t, now)]

    def inference_retries_due(self, now: float) -> list[str]:
        """Inferences whose retry is due: the function is called to ask for them again."""
        return [
            s
            for s, entry in self.retries.items()
            if s != FUNCTION_RETRY
            and s not in self.planned
            and self.pause(s) is None
            and float(entry["due"]) <= now
        ]

    def pause(self, step_id: str) -> Pause | None:
        """The pause in progress for this step, if any."""
        return next((p for p in self.pauses if p["step_id"] == step_id), None)

    def end_pause(self, step_id: str) -> Pause | None:
        """Drop the pause of this step (it ended); returns it."""
        found = self.pause(step_id)
        if found is not None:
            self.pauses.remove(found)
        return found

    @property
    def inferring(self) -> bool:
        """A step.ai.infer request of the run is still to make (the engine makes it)."""
        return any(p["kind"] == PauseKind.AI for p in self.pauses)

    def next_deadline(self) -> float | None:
        """The earliest real time at which one of its pauses ends by itself (None: none does)."""
        deadlines = [d for p in self.pauses if (d := p.get("deadline")) is not None]
        return min(deadlines) if deadlines else None

    def next_due(self) -> float | None:
        """The earliest real time something of the run is due: a pause ends or a step retries."""
        times = [float(e["due"]) for e in self.retries.values()]
        deadline = self.next_deadline()
        if deadline is not None:
            times.append(deadline)
        return min(times) if times else None

    def waits(self) -> frozenset[tuple[str, str]]:
        """(step id, event name) of every wait_for_event in progress."""
        return frozenset(
            (p["step_id"], str(p.get("event"))) for p in self.pauses if p["kind"] == PauseKind.WAIT
        )

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Run:
        run = cls(
            run_id=row["run_id"],
            function_slug=row["function_slug"],
            function_version=row["function_version"],
            event_id=row["event_id"],
            event=json_load(row["event"]),
            # "" = [event], the common case (one event started the run): see to_params.
            events=json_load(row["events"]) if row["events"] else [json_load(row["event"])],
            status=RunStatus(row["status"]),
            started=row["started"],
            ended=row["ended"],
            output=json_value(row["output"]),
            memo=json_load(row["memo"]),
            stack=json_load(row["stack"]),
            planned=json_load(row["planned"]),
            attempt=row["attempt"],
            due=row["due"],
            pauses=_pauses(json_value(row["waiting"]), row["due"]),
            race=json_load(row["race"]),
            retries=json_load(row["retries"]),
            parent_run_id=row["parent_run_id"],
            parent_step_id=row["parent_step_id"],
            cron=row["cron"],
            request_version=row["request_version"],
            # "" = none, the common case: see to_params.
            defers=json_load(row["defers"]) if row["defers"] else {},
        )
        run.saved_waits = run.waits()
        return run

    def to_params(self) -> dict[str, Any]:
        # The first wait's event name (older engines looked runs up by it; run_waits has them all).
        wait_event = next((p.get("event") for p in self.pauses if p["kind"] == PauseKind.WAIT), None)
        return {
            "run_id": self.run_id,
            "function_slug": self.function_slug,
            "function_version": self.function_version,
            "event_id": self.event_id,
            "event": json_text(self.event),
            # Stored once, not twice, when the run's events are just its event (not a batch).
            "events": "" if self.events == [self.event] else json_text(self.events),
            "status": str(self.status),
            "started": self.started,
            "ended": self.ended,
            "output": None if self.output is None else json_text(self.output),
            "memo": json_text(self.memo),
            "stack": json_text(self.stack),
            "planned": json_text(self.planned),
            "attempt": self.attempt,
            "due": self.due,
            "waiting": json_text(self.pauses) if self.pauses else None,
            "race": json_text(self.race),
            "retries": json_text(self.retries),
            "wait_event": wait_event,
            "parent_run_id": self.parent_run_id,
            "parent_step_id": self.parent_step_id,
            "cron": self.cron,
            "request_version": self.request_version,
            "defers": json_text(self.defers) if self.defers else "",
        }


def _pauses(stored: Any, due: float | None) -> list[Pause]:
    """The `waiting` column: a list of pauses; engines before several pauses stored one object
    (whose deadline, before it kept its own, was the run's due time)."""
    if stored is None:
        return []
    if isinstance(stored, dict):
        return [cast(Pause, {"deadline": due} | stored)]
    return [cast(Pause, p) for p in stored]
