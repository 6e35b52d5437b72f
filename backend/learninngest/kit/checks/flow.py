"""Checks about flow control: concurrency per key, rate limit, throttle, batching, singleton."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import datetime
from typing import Any

from learninngest.kit.checks.base import (
    HOUR,
    NotYet,
    advance_clock,
    amount,
    batched_into,
    check,
    count,
    distinct_runs,
    engine,
    failed,
    finished,
    only_run,
    person,
    rows,
    runs,
    send,
    send_many,
    tag,
    wait_until,
)
from learninngest.kit.stack import Stack

HOLD_S = 30.0  # a held step lets go by itself after this, so no run is left hanging


class _Gate:
    """Holds the steps of one key until the check lets them go (or HOLD_S has passed)."""

    def __init__(self) -> None:
        self.held: str | None = None
        self.open = threading.Event()

    def reset(self, held: str | None) -> None:
        self.held = held
        self.open = threading.Event()

    async def pass_through(self, key: str) -> None:
        if key == self.held:
            # The check opens the gate from its own thread: wait for it in a worker thread.
            await asyncio.to_thread(self.open.wait, HOLD_S)


# --- 9. exports: one at a time per customer
class ExportService:
    """Exports a customer's data; two exports of one customer at once clash (the account is locked)."""

    def __init__(self) -> None:
        self.gate = _Gate()
        self.reset(None)

    def reset(self, hold: str | None) -> None:
        self.gate.reset(hold)
        self.busy: Counter[str] = Counter()
        self.started: list[str] = []
        self.clashes: list[str] = []
        self._lock = threading.Lock()

    async def export(self, customer: str, export_id: str) -> str:
        with self._lock:
            self.started.append(customer)
            self.busy[customer] += 1
            if self.busy[customer] > 1:
                self.clashes.append(customer)
        try:
            await self.gate.pass_through(customer)
            await asyncio.sleep(0.05)
        finally:
            with self._lock:
                self.busy[customer] -= 1
        return f"export {export_id} of {customer}"


@check
def concurrency(function: Any, exports: ExportService, timeout: float = 15.0) -> None:
    """Two exports of one customer never overlap; another customer's export is not held up by them."""
    held, other = person(), person()
    exports.reset(hold=held)
    try:
        ids = send_many(
            "exercise/export.requested",
            [{"customer": c, "export_id": f"x-{tag(5)}"} for c in (held, held, other)],
        )
        if not wait_until(lambda: held in exports.started, 30.0):
            raise NotYet(f"no export of {held} started within 30 s")
        others = wait_until(lambda: runs(ids[2], function), 5.0)
        if not others or finished(others[0]["run_id"], timeout) is None:
            raise NotYet(
                f"{other}'s export waited while an export of {held} was in progress: exports of "
                "different customers may run at the same time; only each customer's are one at a time"
            )
    finally:
        exports.gate.open.set()
    ended = [only_run(e, function, "exercise/export.requested", timeout=60) for e in ids]
    for run in ended:
        if run["status"] != "Completed":
            raise failed(run)
    if exports.clashes:
        raise NotYet(f"two exports of {exports.clashes[0]} ran at the same time: one at a time per customer")


# --- 10. alerts: at most one per sensor per hour, the rest dropped
class Pager:
    def __init__(self) -> None:
        self.pages: list[tuple[str, float]] = []

    def page(self, sensor: str, reading: float) -> str:
        self.pages.append((sensor, reading))
        return f"paged on-call: {sensor} reads {reading}"


@check
def rate_limit(function: Any, pager: Pager) -> None:
    """In a burst, each sensor's first alert pages and the rest start no run; an hour later, again."""
    pager.pages.clear()
    noisy, quiet = f"sensor-{tag(4)}", f"sensor-{tag(4)}"
    burst = [(noisy, amount(80, 120)) for _ in range(4)] + [(quiet, amount(80, 120)) for _ in range(2)]
    ids = send_many("exercise/sensor.alert", [{"sensor": s, "reading": r} for s, r in burst])
    started = [bool(runs(e, function)) for e in ids]
    if not any(started):
        raise NotYet(
            "none of the alerts started a run when it arrived: the first alert of the hour should page "
            "at once (a debounce would wait and keep the last one instead)"
        )
    if sum(started[:4]) > 1:
        raise NotYet(
            f"{sum(started[:4])} of {noisy}'s 4 alerts in one burst started runs; at most one per hour "
            "should, and the others be dropped (not queued for later)"
        )
    if not started[0]:
        raise NotYet(f"a later alert of {noisy} started the run, not the first one")
    if not started[4]:
        raise NotYet(f"{quiet}'s alerts started no run: the limit is per sensor, not for all sensors")
    if started[5]:
        raise NotYet(f"both of {quiet}'s alerts started a run; the second should be dropped")
    for e in (ids[0], ids[4]):
        run = only_run(e, function, "exercise/sensor.alert")
        if run["status"] != "Completed":
            raise failed(run)
    if sorted(pager.pages) != sorted([burst[0], burst[4]]):
        raise NotYet(f"the pager got {pager.pages}; expected the first alert of each sensor")
    advance_clock(HOUR + 60)
    later = send("exercise/sensor.alert", {"sensor": noisy, "reading": amount(80, 120)})
    if not runs(later, function):
        raise NotYet(f"an hour later, {noisy}'s next alert still started no run: the limit is one per hour")
    only_run(later, function, "exercise/sensor.alert")


# --- 11. the partner API: 2 calls a minute, none dropped
class PartnerApi:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def submit(self, order_id: str) -> str:
        self.calls.append(order_id)
        return f"partner accepted {order_id}"


PER_MINUTE = 2  # the partner's rate...
AT_ONCE = 3  # ...and the burst it tolerates (a throttle's limit plus its burst)


def _at(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@check
def throttle(function: Any, partner: PartnerApi, orders: int = 7) -> None:
    """All orders reach the partner, later rather than dropped: 3 at once, then 2 a minute."""
    partner.calls.clear()
    ids = send_many("exercise/partner.order", [{"order_id": f"po-{tag(6)}"} for _ in range(orders)])
    if len(distinct_runs(ids, function)) < orders:
        dropped = orders - len(distinct_runs(ids, function))
        raise NotYet(
            f"{count(dropped, 'order')} of {orders} sent together started no run: dropped; the partner "
            "wants every order, only no more than 2 a minute"
        )
    ended = [only_run(e, function, "exercise/partner.order", timeout=60) for e in ids]
    for run in ended:
        if run["status"] != "Completed":
            raise failed(run)
    waited = [run for run in ended if any(r["op"] == "Throttle" for r in rows(run))]
    if len(ended) - len(waited) > AT_ONCE:
        raise NotYet(
            f"{len(ended) - len(waited)} of the {orders} orders sent together started at once; "
            f"the partner takes {AT_ONCE} at once, then {PER_MINUTE} a minute: the others wait their turn"
        )
    # Starts are never early, whatever the machine's speed: the last of n can start no sooner
    # than (n - 3) / 2 minutes after the orders arrived (virtual time, from the timeline).
    scale = _scale()
    arrived = min(_at(engine(f"/v1/events/{e}")["received_at"]) for e in ids)
    first_steps = [min(_at(r["started_at"]) for r in rows(run) if r["op"] == "StepRun") for run in ended]
    span_min = (max(first_steps) - arrived) / scale / 60
    least = (orders - AT_ONCE) / PER_MINUTE
    if span_min < least * 0.9:
        raise NotYet(
            f"the {orders} orders all reached the partner within {span_min:.1f} minutes; at "
            f"{PER_MINUTE} a minute that takes at least {least:.0f}"
        )
    if sorted(partner.calls) != sorted(engine(f"/v1/events/{e}")["data"]["order_id"] for e in ids):
        raise NotYet(f"the partner got {partner.calls}; expected each order once")


def _scale() -> float:
    from learninngest.kit.cells import _stack

    stack: Stack = _stack(None)
    return float(stack.settings.engine_time_scale)


# --- 12. readings: inserted in batches
class Database:
    def __init__(self) -> None:
        self.inserts: list[list[dict[str, Any]]] = []

    def insert_many(self, readings: list[dict[str, Any]]) -> int:
        self.inserts.append(list(readings))
        return len(readings)


BATCH = 10


def _all_taken(ids: list[str], function: Any) -> list[str | None] | None:
    taken = [batched_into(e, function) for e in ids]
    return taken if all(taken) else None


@check
def batch(function: Any, db: Database, readings: int = 23) -> None:
    """23 readings sent together are inserted by 3 runs, of at most 10 each, every reading once."""
    db.inserts.clear()
    sent = [{"sensor": f"s-{tag(3)}", "value": amount(0, 50)} for _ in range(readings)]
    ids = send_many("exercise/reading", sent)
    advance_clock(60)  # the last, partial batch waits at most a few seconds for more readings
    # Every reading belongs to a run once the last batch has started (at once without batching).
    taken = wait_until(lambda: _all_taken(ids, function), 10.0) or [batched_into(e, function) for e in ids]
    started = {run_id for run_id in taken if run_id}
    for run_id in started:
        run = finished(run_id)
        if run is None or run["status"] != "Completed":
            raise failed(run or {"status": "unfinished", "output": None})
    if len(started) == readings:
        raise NotYet(f"each of the {readings} readings started a run of its own: collect them into batches")
    inserted = [row for call in db.inserts for row in call]
    key = lambda r: (r.get("sensor"), r.get("value"))  # noqa: E731 - a sort key
    if sorted(inserted, key=key) != sorted(sent, key=key):
        missing = len(sent) - len([r for r in inserted if r in sent])
        raise NotYet(
            f"{len(inserted)} rows were inserted for {readings} readings ({missing} missing): a run of a "
            "batch gets all its events, not only the first"
        )
    biggest = max(len(call) for call in db.inserts)
    if biggest > BATCH:
        raise NotYet(f"a run inserted {biggest} readings at once; batches hold at most {BATCH}")
    if len(started) > -(-readings // BATCH):
        raise NotYet(
            f"{readings} readings took {len(started)} runs; batches of {BATCH} need {-(-readings // BATCH)}"
        )


# --- 13. reports: one build per team at a time, extra requests skipped
class ReportBuilder:
    def __init__(self) -> None:
        self.gate = _Gate()
        self.reset(None)

    def reset(self, hold: str | None) -> None:
        self.gate.reset(hold)
        self.started: list[str] = []

    async def build(self, team: str) -> str:
        self.started.append(team)
        await self.gate.pass_through(team)
        return f"report of {team}"


@check
def singleton(function: Any, reports: ReportBuilder, timeout: float = 15.0) -> None:
    """While a team's report builds, a new request for it is skipped; other teams build meanwhile."""
    team, other = f"team-{tag(4)}", f"team-{tag(4)}"
    reports.reset(hold=team)
    try:
        first = send("exercise/report.requested", {"team": team})
        if not wait_until(lambda: team in reports.started, 30.0):
            raise NotYet(f"the report of {team} did not start building within 30 s")
        second = send("exercise/report.requested", {"team": team})
        elsewhere = send("exercise/report.requested", {"team": other})
        theirs = runs(elsewhere, function)
        if not theirs or theirs[0]["status"] == "Skipped":
            raise NotYet(
                f"{other}'s request was skipped though no report of {other} was building: one per team"
            )
        if finished(theirs[0]["run_id"], timeout) is None:
            raise NotYet(f"{other}'s report waited for {team}'s: builds of different teams may run together")
        again = runs(second, function)
        if not again:
            raise NotYet(
                f"the second request for {team} started no run at all; it should be recorded as skipped "
                "while the first builds (and a later request build again)"
            )
        if again[0]["status"] != "Skipped":
            raise NotYet(
                f"the second request for {team} arrived while its report was building and is "
                f"{again[0]['status']}: it should be skipped, not queued"
            )
    finally:
        reports.gate.open.set()
    done = only_run(first, function, "exercise/report.requested")
    if done["status"] != "Completed":
        raise NotYet(f"the first build of {team} ended {done['status']}: a new request must not stop it")
    later = only_run(send("exercise/report.requested", {"team": team}), function, "exercise/report.requested")
    if later["status"] != "Completed":
        raise NotYet(
            f"once {team}'s report was built, a new request ended {later['status']}; it should build again"
        )
    if Counter(reports.started) != Counter({team: 2, other: 1}):
        raise NotYet(f"reports built: {reports.started}; expected {team} twice and {other} once")
