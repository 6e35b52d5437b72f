"""defer()'s rules (engine/run/defers.py), as the real server's: what is kept, refused, aborted,
and the events a run that ended sends. The real TypeScript SDK end to end: test_ts4_defers.py."""

from __future__ import annotations

from typing import Any

from ulid import ULID

from learninngest.engine.ids import UlidFactory
from learninngest.engine.run import defers
from learninngest.engine.state.db import State
from learninngest.engine.state.models import DeferStatus, Run, StepStatus
from learninngest.engine.wire.protocol import Opcode, hash_step_id

SLUG = "app-follow-up"


def new_run() -> Run:
    return Run(
        run_id=UlidFactory().new(),
        function_slug="app-parent",
        function_version=1,
        event_id="e",
        event={"name": "x", "data": {}},
        events=[{"name": "x", "data": {}}],
    )


def add(user_id: str, **opts: Any) -> Opcode:
    return Opcode(op="DeferAdd", id=hash_step_id(user_id), name=user_id, opts=opts, user_id=user_id)


def abort(user_id: str) -> Opcode:
    target = hash_step_id(user_id)
    return Opcode(
        op="DeferAbort",
        id=hash_step_id(f"{target}:abort"),
        name=user_id,
        opts={"target_hashed_id": target, "fn_slug": SLUG, "id": user_id},
        user_id=user_id,
    )


class Rows:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, StepStatus, dict[str, Any]]] = []

    def __call__(
        self, run: Run, o: Opcode, status: StepStatus, started: float, ended: float, **more: Any
    ) -> int:
        self.rows.append((o.user_id, o.op, status, more))
        return len(self.rows)


def apply(run: Run, *ops: Opcode) -> Rows:
    rows = Rows()
    defers.apply(run, list(ops), rows, 1.0, 2.0)
    return rows


def status(run: Run, user_id: str) -> str | None:
    defer = run.defers.get(hash_step_id(user_id))
    return None if defer is None else str(defer["status"])


def test_a_defer_is_kept_once_and_a_repeat_changes_nothing() -> None:
    run = new_run()
    rows = apply(run, add("tell", fn_slug=SLUG, input={"n": 1}), add("tell", fn_slug=SLUG, input={"n": 2}))
    print(run.defers, rows.rows)
    assert run.defers[hash_step_id("tell")]["input"] == {"n": 1}
    assert [(r[0], r[1], r[2]) for r in rows.rows] == [("tell", "DeferAdd", StepStatus.COMPLETED)]
    assert defers.call_entries(run) == {hash_step_id("tell"): {"abortable": True}}


def test_bad_opts_are_refused_softly_and_kept_as_rejected() -> None:
    run = new_run()
    rows = apply(
        run,
        add("no-slug", input={}),
        add("no-input", fn_slug=SLUG),
        add("a-list", fn_slug=SLUG, input=[1]),
        add("bad-meta", fn_slug=SLUG, input={}, meta="x"),
        add("big-meta", fn_slug=SLUG, input={}, meta={"k": "v" * defers.MAX_META_BYTES}),
        add("big-input", fn_slug=SLUG, input={"k": "v" * defers.MAX_INPUT_BYTES}),
    )
    reasons = {r[0]: r[3]["error"]["message"].split(":")[0] for r in rows.rows}
    print(reasons)
    assert reasons == {
        "no-slug": "invalid_opts",
        "no-input": "invalid_input",
        "a-list": "invalid_input",
        "bad-meta": "invalid_meta",
        "big-meta": "meta_size",
        "big-input": "per_defer_size",
    }
    assert {status(run, u) for u in reasons} == {"Rejected"}
    assert all("input" not in d for d in run.defers.values())
    assert all(entry == {"abortable": False} for entry in defers.call_entries(run).values())
    assert defers.schedule_events(run, "fn", "app", 3.0) == []


def test_opts_that_are_not_an_object_keep_nothing() -> None:
    run = new_run()
    o = Opcode(op="DeferAdd", id=hash_step_id("odd"), opts=None, user_id="odd")
    assert not apply(run, o).rows and run.defers == {}


def test_a_run_keeps_at_most_twenty_defers() -> None:
    run = new_run()
    apply(run, *(add(f"d{n}", fn_slug=SLUG, input={"n": n}) for n in range(defers.MAX_PER_RUN + 1)))
    assert len(run.defers) == defers.MAX_PER_RUN
    assert status(run, f"d{defers.MAX_PER_RUN}") is None  # nothing kept: the SDK sends it again


def test_inputs_share_a_budget_that_an_abort_frees() -> None:
    run = new_run()
    third = defers.MAX_INPUTS_BYTES // 3
    apply(run, *(add(f"d{n}", fn_slug=SLUG, input={"k": "v" * third}) for n in range(3)))
    print({u: status(run, u) for u in ("d0", "d1", "d2")})
    assert [status(run, u) for u in ("d0", "d1", "d2")] == ["AfterRun", "AfterRun", "Rejected"]
    rows = apply(run, abort("d0"), add("d3", fn_slug=SLUG, input={"k": "v" * third}))
    assert status(run, "d0") == "Aborted" and "input" not in run.defers[hash_step_id("d0")]
    assert status(run, "d3") == "AfterRun"  # d0's share was freed
    assert [(r[0], r[1], r[2]) for r in rows.rows] == [
        ("d0", "DeferAbort", StepStatus.CANCELLED),
        ("d3", "DeferAdd", StepStatus.COMPLETED),
    ]
    assert defers.call_entries(run)[hash_step_id("d0")] == {"abortable": False}


def test_an_abort_of_an_unknown_defer_changes_nothing() -> None:
    run = new_run()
    assert not apply(run, abort("never")).rows and run.defers == {}


def test_a_run_that_ended_sends_one_event_per_defer_still_due() -> None:
    run = new_run()
    apply(
        run,
        add("a", fn_slug=SLUG, input={"n": 1}, meta={"sessions": {"s": "1"}}),
        add("b", fn_slug="app-other", input={}),
        add("c", fn_slug=SLUG, input={"n": 3}),
        abort("c"),
        add("d", fn_slug=SLUG, input="not an object"),
    )
    events = defers.schedule_events(run, "fn-uuid", "app-uuid", 12.5)
    print(events)
    assert [e["data"].get("n") for e in events] == [1, None]
    first = events[0]
    assert first["name"] == "inngest/deferred.schedule" and first["ts"] == 12500
    assert first["meta"] == {"sessions": {"s": "1"}}
    meta = first["data"]["_inngest"]
    assert {
        k: meta[k] for k in ("fn_slug", "parent_app_id", "parent_fn_id", "parent_fn_slug", "parent_run_id")
    } == {
        "fn_slug": SLUG,
        "parent_app_id": "app-uuid",
        "parent_fn_id": "fn-uuid",
        "parent_fn_slug": "app-parent",
        "parent_run_id": run.run_id,
    }
    assert set(meta["parent_defer_span"]) == {"tp", "ts", "dstp", "dsid"}
    # The id: the run's time, entropy from the (run, defer) pair, so the same on every finalize.
    assert first["id"] == defers.event_id(run.run_id, hash_step_id("a"))
    assert ULID.from_str(first["id"]).milliseconds == ULID.from_str(run.run_id).milliseconds
    assert first["id"] != events[1]["id"] == defers.event_id(run.run_id, hash_step_id("b"))


def test_a_runs_defers_are_stored_with_it() -> None:
    state = State(None)
    state.open()
    try:
        run = new_run()
        state.insert_run(run)
        assert state.get_run(run.run_id).defers == {}  # stored as '' (none)
        apply(run, add("a", fn_slug=SLUG, input={"n": 1}), abort("a"), add("b", fn_slug=SLUG, input={}))
        state.save_run(run)
        loaded = state.get_run(run.run_id)
        assert loaded.defers == run.defers
        assert loaded.defers[hash_step_id("a")]["status"] == DeferStatus.ABORTED
    finally:
        state.close()


def test_apply_says_whether_anything_changed() -> None:
    run = new_run()
    assert defers.apply(run, [add("a", fn_slug=SLUG, input={})], Rows(), 0.0, 0.0)
    assert not defers.apply(run, [add("a", fn_slug=SLUG, input={})], Rows(), 0.0, 0.0)  # a repeat
    assert not defers.apply(run, [abort("never")], Rows(), 0.0, 0.0)


def test_the_event_s_sessions_are_resolved_as_the_server_does() -> None:
    resolve = defers.resolve_sessions
    assert resolve({}) is None
    assert resolve({"sessions": {"user": "u1", "n": 7, "bad": True}}) == {"user": "u1", "n": "7"}
    inherited = {"propagated_sessions": {"b": "1", "a": "2", "user": "parent"}}
    # Manual keys win; inherited ones fill the free slots in key order.
    assert resolve({**inherited, "sessions": {"user": "mine"}}) == {"user": "mine", "a": "2", "b": "1"}
    assert resolve({**inherited, "sessions": {"a": None}}) == {"b": "1", "user": "parent"}  # a null cuts one
    assert resolve({**inherited, "sessions": None}) is None  # a null `sessions` cuts them all
    many = {"propagated_sessions": {f"k{n}": str(n) for n in range(9)}, "sessions": {"z": "1"}}
    assert resolve(many) == {"z": "1", "k0": "0", "k1": "1", "k2": "2", "k3": "3"}  # at most 5
