"""defer(): runs a function asks to start once it has ended (the TypeScript SDK 4.x's
`createDefer` and `defer()`), as the real server's `pkg/execution/defers` and its finalize.

A reply may carry `DeferAdd` / `DeferAbort` opcodes beside whatever else it reports (a step
that ran, the plan, the function's end or its error). They are lazy: never a step, never
memoized, never part of a parallel group, and applied before the rest of the reply, so a
defer sent with `RunComplete` is kept before the run ends. Each is kept with its run under its
hashed id, insert-only: the SDK sends it again on every call until a call lists it in the
body's `defers` (with `abortable`), and a repeat changes nothing.

- Refused softly (kept as Rejected, the run goes on): no function slug, an input that is not a
  JSON object or is over 4 MiB, a meta that is not an object or is over 32 KiB, or inputs over
  4 MiB in all. Past 20 defers a run keeps nothing more (the SDK keeps sending them).
- `DeferAbort` marks its target Aborted, whatever its status, and frees its input's share of
  the budget; an unknown target is only logged.

When the run ends (completed, failed or cancelled) each defer still AfterRun becomes an
`inngest/deferred.schedule` event: its input as `data`, with `data._inngest` naming the
parent run; the companion function's trigger expression (`event.data._inngest.fn_slug ==
'<slug>'`) starts its run. The event's id comes from the run and the defer, as the server's.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from ulid import ULID

from learninngest.engine.ids import is_ulid
from learninngest.engine.state.models import Defer, DeferStatus, Run, StepStatus
from learninngest.engine.wire import protocol

log = logging.getLogger("learninngest.engine")

LAZY_OPS = frozenset({"DeferAdd", "DeferAbort"})
SCHEDULE_EVENT = "inngest/deferred.schedule"
MAX_PER_RUN = 20  # the server's MaxDefersPerRun (distinct ids)
MAX_INPUT_BYTES = 4 * 1024 * 1024  # MaxDeferInputSize
MAX_INPUTS_BYTES = 4 * 1024 * 1024  # MaxDeferInputAggregateSize, per run
MAX_META_BYTES = 32 * 1024  # MaxEventMetaSize
MAX_SESSIONS = 5  # MaxEventSessions
# The id the TypeScript SDK gives the function's own end when it ships lazy opcodes with it
# (a RunComplete, or a StepError / StepFailed that is the function's error): sha1("complete").
COMPLETE_ID = protocol.hash_step_id("complete")

# step_row(run, opcode, status, started, ended, output=…, error=…): RunLifecycle.step_row.
Row = Callable[..., object]


def _size(value: Any) -> int:
    """Bytes of `value` as compact JSON (the server measures what it re-encodes)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _refusal(opts: dict[str, Any], size: int) -> str | None:
    """Why a DeferAdd's opts are refused (the server's reasons), or None; `size`: its input's."""
    if not isinstance(opts.get("fn_slug"), str) or not opts["fn_slug"]:
        return "invalid_opts: fn_slug is required"
    if not isinstance(opts.get("input"), dict):
        return "invalid_input: input must be a JSON object"
    if size > MAX_INPUT_BYTES:
        return f"per_defer_size: input is over {MAX_INPUT_BYTES} bytes"
    meta = opts.get("meta")
    if meta is not None and not isinstance(meta, dict):
        return "invalid_meta: meta must be a JSON object"
    if meta is not None and _size(meta) > MAX_META_BYTES:
        return f"meta_size: meta is over {MAX_META_BYTES} bytes"
    return None


def apply(run: Run, ops: list[protocol.Opcode], step_row: Row, started: float, now: float) -> bool:
    """Keep the DeferAdd / DeferAbort opcodes of `ops` with the run (the caller saves it); a
    timeline row for each that changes something. True when one did."""
    changed = False

    def row(o: protocol.Opcode, status: StepStatus, **details: Any) -> None:
        nonlocal changed
        changed = True
        step_row(run, o, status, started, now, **details)

    for o in ops:
        if o.op == "DeferAdd":
            _add(run, o, row)
        elif o.op == "DeferAbort":
            _abort(run, o, row)
    return changed


def is_function_error(o: protocol.Opcode) -> bool:
    """The function's own error, sent as an opcode to ship defers with it: `sha1("complete")`
    and no name (a step the user called "complete" has the same id, and its name; `user_id`
    falls back to the name, so it is empty only when both are)."""
    return o.op in ("StepError", "StepFailed") and o.id == COMPLETE_ID and not o.user_id


def _add(run: Run, o: protocol.Opcode, row: Row) -> None:
    if o.id in run.defers:
        return  # sent again until a call lists it: insert-only
    opts = o.opts
    if not isinstance(opts, dict):
        log.warning("run_id=%s defer %s refused (invalid_opts): no opts object", run.run_id, o.user_id)
        return
    if len(run.defers) >= MAX_PER_RUN:
        # Nothing kept, as the server's count cap: the SDK sends it again, refused again.
        log.warning(
            "run_id=%s defer %s refused (per_run_count): a run keeps at most %d defers",
            run.run_id,
            o.user_id,
            MAX_PER_RUN,
        )
        return
    slug: str = opts["fn_slug"] if isinstance(opts.get("fn_slug"), str) else ""
    defer = Defer(fn_slug=slug, status=DeferStatus.REJECTED, id=o.user_id or o.id)
    # Measured once (an input may be megabytes): the per-defer limit and the run's budget.
    size = _size(opts["input"]) if isinstance(opts.get("input"), dict) else 0
    reason = _refusal(opts, size)
    if reason is None:
        used = sum(d.get("size", 0) for d in run.defers.values())
        if used + size > MAX_INPUTS_BYTES:
            reason = f"aggregate_size: the run's defers' inputs would be over {MAX_INPUTS_BYTES} bytes"
        else:
            defer["status"], defer["input"], defer["size"] = DeferStatus.AFTER_RUN, opts["input"], size
            if isinstance(opts.get("meta"), dict):
                defer["meta"] = opts["meta"]
    run.defers[o.id] = defer
    shown = {"function": slug, "status": str(defer["status"])}
    if reason is None:
        log.info("run_id=%s defer %s kept: starts %s when the run ends", run.run_id, defer["id"], slug)
        row(o, StepStatus.COMPLETED, output=shown)
    else:
        # Soft: the run goes on without this deferred run, as on the real server.
        log.warning("run_id=%s defer %s refused (%s); the run goes on", run.run_id, defer["id"], reason)
        row(o, StepStatus.FAILED, output=shown, error=protocol.error_object("DeferRejected", reason))


def _abort(run: Run, o: protocol.Opcode, row: Row) -> None:
    target = (o.opts or {}).get("target_hashed_id")
    defer = run.defers.get(target) if isinstance(target, str) else None
    if defer is None:
        # The server logs an unknown target and the run goes on; nothing is kept.
        log.warning("run_id=%s defer abort %s: no defer %r in this run", run.run_id, o.user_id, target)
        return
    if defer["status"] == DeferStatus.ABORTED:
        return
    defer["status"] = DeferStatus.ABORTED
    defer.pop("input", None)
    defer.pop("size", None)  # its share of the run's budget is free again
    log.info("run_id=%s defer %s aborted", run.run_id, defer["id"])
    row(o, StepStatus.CANCELLED, output={"function": defer["fn_slug"], "status": str(defer["status"])})


def call_entries(run: Run) -> dict[str, dict[str, bool]]:
    """The call body's `defers`: every kept defer, so the SDK stops sending it, and whether
    `.abort()` may still change it."""
    return {hid: {"abortable": d["status"] == DeferStatus.AFTER_RUN} for hid, d in run.defers.items()}


def event_id(run_id: str, hashed_id: str) -> str:
    """The server's DeferEventID: the run's ULID time, entropy from sha256 of the pair."""
    entropy = hashlib.sha256(f"defer-event:{run_id}:{hashed_id}".encode()).digest()[:10]
    return str(ULID.from_bytes(ULID.from_str(run_id).bytes[:6] + entropy))


def _span(*parts: str, length: int) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:length]


def schedule_events(run: Run, fn_uuid: str, app_uuid: str, now: float) -> list[dict[str, Any]]:
    """The `inngest/deferred.schedule` events of a run that ended: one per defer still AfterRun."""
    events = []
    trace = _span("trace", run.run_id, length=32)
    run_span = _span("run-span", run.run_id, length=16)
    for hashed_id, defer in run.defers.items():
        if defer["status"] != DeferStatus.AFTER_RUN:
            continue  # aborted or refused: nothing starts
        span = _span("defer-span", run.run_id, hashed_id, length=16)
        data = dict(defer.get("input") or {})
        data["_inngest"] = {
            "fn_slug": defer["fn_slug"],
            "parent_app_id": app_uuid,
            "parent_defer_span": {
                "tp": f"00-{trace}-{span}-00",
                "ts": "",
                "dstp": f"00-{trace}-{run_span}-00",
                "dsid": span,
            },
            "parent_fn_id": fn_uuid,
            "parent_fn_slug": run.function_slug,
            "parent_run_id": run.run_id,
        }
        event: dict[str, Any] = {
            "id": event_id(run.run_id, hashed_id),
            "name": SCHEDULE_EVENT,
            "data": data,
            "ts": int(now * 1000),
        }
        sessions = resolve_sessions(defer.get("meta") or {})
        if sessions:
            event["meta"] = {"sessions": sessions}
        events.append(event)
    return events


def parents_of(run: Run) -> list[tuple[str, str]]:
    """(run id, function slug) of each run whose defer started `run`: the `_inngest` of its
    triggering `inngest/deferred.schedule` events (as `schedule_events` writes it), when whole
    (the server's `DeferredScheduleMetadata.Validate`)."""
    out = []
    for event in run.events:
        meta = (event.get("data") or {}).get("_inngest") if event.get("name") == SCHEDULE_EVENT else None
        if not isinstance(meta, dict):
            continue
        fields = [meta.get(k) for k in ("fn_slug", "parent_app_id", "parent_fn_id", "parent_fn_slug")]
        run_id = meta.get("parent_run_id")
        whole = all(isinstance(f, str) and f for f in fields) and meta.get("parent_defer_span") is not None
        if whole and isinstance(run_id, str) and is_ulid(run_id):
            out.append((run_id, meta["parent_fn_slug"]))
    return out


def resolve_sessions(meta: dict[str, Any]) -> dict[str, str] | None:
    """The event's sessions from a defer's meta, as the server's ResolveSessions: the manual
    `sessions` (string or number ids) win; a null key cuts that inherited one, a null
    `sessions` all of them; free slots up to 5 are filled from `propagated_sessions` in key
    order. None when there are none."""
    given = meta.get("sessions")
    manual_raw: dict[str, Any] = given if isinstance(given, dict) else {}
    manual = {
        k: str(v)
        for k, v in manual_raw.items()
        if isinstance(v, str) or (isinstance(v, int | float) and not isinstance(v, bool))
    }
    propagated = meta.get("propagated_sessions")
    if "sessions" in meta and given is None:
        inherited: dict[str, Any] = {}  # a null `sessions` clears every inherited one
    else:
        inherited = dict(propagated) if isinstance(propagated, dict) else {}
    for k, v in manual_raw.items():
        if v is None:
            inherited.pop(k, None)  # a null key cuts that inherited one
    merged = dict(manual)
    free = MAX_SESSIONS - len(merged)
    for k in sorted(k for k in inherited if k not in merged):
        if free <= 0:
            break
        if isinstance(inherited[k], str):
            merged[k] = inherited[k]
            free -= 1
    return merged or None
