"""Checks about runs in progress: one export at a time per customer (concurrency with a key),
one report build per team with the extra requests skipped (singleton)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

from learninngest.kit.checks.base import (
    NotYet,
    check,
    failed,
    finished,
    only_run,
    person,
    runs,
    send,
    send_many,
    tag,
    wait_until,
)

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


# --- 10. exports: one at a time per customer
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


# --- 15. reports: one build per team at a time, extra requests skipped
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
