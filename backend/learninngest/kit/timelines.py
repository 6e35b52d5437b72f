"""What a burst of events became, on the engine's virtual clock: one row per event, and a chart.

Flow-control lessons send several events at once and ask what happened to each: did it
start a run, wait (throttle, priority, a batch), or start none (rate limit, debounce,
singleton)? `event_runs` answers with times in *virtual* seconds since the first event
arrived (real seconds divided by the engine's time scale), so a 30 s throttle period
reads as 30 s although it took 0.3 s; `plot_event_runs` draws the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx

from learninngest.engine.clock import parse_iso
from learninngest.kit.cells import _data, _stack, event, steps_of

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from learninngest.kit.stack import Stack

# Timeline rows flow control writes; a run's first *other* row is its first call to the app.
FLOW_OPS = frozenset({"Debounce", "Batch", "Throttle", "Singleton", "Timeout"})
COLUMNS = ["event", "decision", "run_id", "status", "arrived_s", "started_s", "ended_s", "waited_s"]


def flow_of(event_id: str, *, stack: Stack | None = None) -> list[dict[str, Any]]:
    """What flow control decided for an event (local engine only): `rate_limited`,
    `idempotent`, `debounced`, `batched` or `skipped`, with the run that took it, if any."""
    s = _stack(stack)
    return list(_data(httpx.get(f"{s.inngest_url}/v1/events/{event_id}/flow"))["data"])


def _run(run_id: str, s: Stack) -> dict[str, Any]:
    return dict(_data(httpx.get(f"{s.inngest_url}/v1/runs/{run_id}"))["data"])


def _runs_of(event_id: str, decisions: list[dict[str, Any]], s: Stack) -> list[dict[str, Any]]:
    """The runs an event started, or the run a batch or debounce gave it to."""
    from learninngest.kit.runs import runs_of_event

    runs = runs_of_event(event_id, stack=s)
    if runs:
        return runs
    taken = {d["run_id"] for d in decisions if d.get("run_id")}
    return [_run(run_id, s) for run_id in sorted(taken)]


def _first_call(run_id: str, s: Stack) -> float | None:
    """Real time of the run's first call to the app (after what flow control held it for)."""
    starts = [
        parse_iso(row["started_at"])
        for row in steps_of(run_id, stack=s)
        if row["op"] not in FLOW_OPS and row.get("started_at")
    ]
    return min(starts) if starts else None


def event_runs(
    event_ids: Sequence[str], *, labels: Sequence[str] | None = None, stack: Stack | None = None
) -> pd.DataFrame:
    """One row per event: its flow decision, its run and status, and when (virtual seconds
    since the first event arrived) it arrived, its run started calling the app, and ended.

    `waited_s` is started minus arrived: the time flow control (or a queue) held it.
    An event that started no run has status `no run`; events a batch gathered share a run.
    """
    import pandas as pd

    s = _stack(stack)
    scale = s.settings.engine_time_scale
    if labels is not None and len(labels) != len(event_ids):
        raise ValueError(f"{len(labels)} labels for {len(event_ids)} events: give one label per event")
    arrived = [parse_iso(event(i, stack=s)["received_at"]) for i in event_ids]
    t0 = min(arrived, default=0.0)

    def virtual(real: float | None) -> float | None:
        return None if real is None else round((real - t0) / scale, 1)

    rows = []
    for n, (event_id, at) in enumerate(zip(event_ids, arrived, strict=True)):
        decisions = flow_of(event_id, stack=s)
        runs = _runs_of(event_id, decisions, s)
        run = runs[0] if runs else None
        started = _first_call(run["run_id"], s) if run else None
        ended = parse_iso(run["ended_at"]) if run and run.get("ended_at") else None
        start_s, arrived_s = virtual(started), virtual(at)
        rows.append(
            {
                "event": labels[n] if labels is not None else event_id,
                "decision": ", ".join(d["decision"] for d in decisions),
                "run_id": run["run_id"] if run else None,
                "status": run["status"] if run else "no run",
                "arrived_s": arrived_s,
                "started_s": start_s,
                "ended_s": virtual(ended),
                "waited_s": None if start_s is None or arrived_s is None else round(start_s - arrived_s, 1),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


_COLOURS = {"Completed": "C0", "Running": "C0", "Failed": "C3", "Cancelled": "C3", "Skipped": "0.5"}


def plot_event_runs(table: pd.DataFrame, title: str) -> Figure:
    """`event_runs` as a chart: per event, the wait (light) then the run (coloured by how it
    ended), a cross where an event started no run. Titled and with a legend."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.45 * len(table) + 1.4))
    seen: set[str] = set()

    def label(text: str) -> str:
        if text in seen:
            return "_nolegend_"
        seen.add(text)
        return text

    for y, r in enumerate(table.itertuples()):
        arrived, started, ended = r.arrived_s, r.started_s, r.ended_s
        if r.status == "no run" or _missing(started):
            end = arrived if _missing(ended) else ended
            if end > arrived:  # cancelled or skipped before its first call: it only waited
                ax.barh(y, end - arrived, left=arrived, color="0.85", label=label("waiting"))
            what = "no run" if r.status == "no run" else f"run {r.status.lower()} before it began"
            ax.plot([end], [y], "x", color="C3", markersize=9, label=label(what))
            continue
        if started > arrived:
            ax.barh(y, started - arrived, left=arrived, color="0.85", label=label("waiting"))
        end = started if _missing(ended) else ended
        colour = _COLOURS.get(r.status, "C1")
        width = max(end - started, 0.005 * max(1.0, float(table["ended_s"].max() or 1.0)))
        ax.barh(y, width, left=started, color=colour, label=label(f"run {r.status.lower()}"))
    ax.set_yticks(range(len(table)), [str(e) for e in table["event"]])
    ax.invert_yaxis()  # the first event on top
    ax.set_xlabel("virtual seconds since the first event arrived")
    ax.set_ylabel("event")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def _missing(value: Any) -> bool:
    return value is None or value != value  # None, or NaN from the DataFrame
