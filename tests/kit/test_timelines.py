"""kit/timelines.py: one row per event of a burst, in virtual seconds, and its chart."""

from __future__ import annotations

import datetime

import inngest
import matplotlib
import pytest

from learninngest import kit
from learninngest.kit.stack import Stack

matplotlib.use("Agg")  # no display in the tests


def burst(stack: Stack, name: str, datas: list[dict[str, object]]) -> list[str]:
    return list(stack.client.send_sync([inngest.Event(name=name, data=d) for d in datas]))


def test_a_throttled_burst_reads_in_virtual_seconds_and_draws_with_a_title_and_legend(stack: Stack) -> None:
    @stack.function(
        fn_id="paced",
        trigger=inngest.TriggerEvent(event="demo/paced"),
        throttle=inngest.Throttle(limit=1, period=datetime.timedelta(seconds=20), burst=0),
    )
    async def paced(ctx: inngest.Context) -> int:
        return int(ctx.event.data["n"])

    ids = burst(stack, "demo/paced", [{"n": n} for n in range(3)])
    runs = [kit.wait_for_run(i, paced) for i in ids]
    table = kit.event_runs(ids, labels=["a", "b", "c"])
    assert list(table.columns) == [*kit.timelines.COLUMNS]
    assert list(table["event"]) == ["a", "b", "c"]
    assert list(table["run_id"]) == [r["run_id"] for r in runs]
    assert list(table["status"]) == ["Completed"] * 3 and list(table["decision"]) == [""] * 3
    assert table["arrived_s"].iloc[0] == 0.0
    # The throttle can only make a start later: at least one period (20 virtual s) apart.
    starts = sorted(table["started_s"])
    assert starts[1] - starts[0] >= 19 and starts[2] - starts[1] >= 19
    assert (table["waited_s"] == (table["started_s"] - table["arrived_s"]).round(1)).all()

    fig = kit.plot_event_runs(table, "three paced runs")
    ax = fig.axes[0]
    assert ax.get_title() == "three paced runs"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["waiting", "run completed"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]


def test_events_that_start_no_run_say_why_and_batched_ones_share_their_run(stack: Stack) -> None:
    @stack.function(
        fn_id="limited",
        trigger=inngest.TriggerEvent(event="demo/limited"),
        rate_limit=inngest.RateLimit(limit=1, period=datetime.timedelta(hours=1)),
    )
    async def limited(ctx: inngest.Context) -> str:
        return "ran"

    @stack.function(
        fn_id="gathered",
        trigger=inngest.TriggerEvent(event="demo/gathered"),
        batch_events=inngest.Batch(max_size=2, timeout=datetime.timedelta(seconds=10)),
    )
    async def gathered(ctx: inngest.Context) -> int:
        return len(ctx.events)

    dropped = burst(stack, "demo/limited", [{}, {}])
    kit.wait_for_run(dropped[0], limited)
    table = kit.event_runs(dropped)
    assert list(table["event"]) == dropped  # no labels: the event ids
    assert list(table["status"]) == ["Completed", "no run"]
    assert list(table["decision"]) == ["", "rate_limited"]
    assert table["started_s"].isna().tolist() == [False, True]
    assert "rateLimit 1 per 3600s" in kit.flow_of(dropped[1])[0]["detail"]
    fig = kit.plot_event_runs(table, "one dropped")
    assert "no run" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]

    pair = burst(stack, "demo/gathered", [{}, {}])
    run = kit.wait_for_run(pair[0], gathered)
    assert run["output"] == 2
    table = kit.event_runs(pair)
    assert list(table["run_id"]) == [run["run_id"]] * 2 and list(table["decision"]) == ["batched"] * 2


def test_one_label_per_event_or_an_error_that_says_so(stack: Stack) -> None:
    ids = burst(stack, "demo/nobody", [{}, {}])
    with pytest.raises(ValueError, match="1 labels for 2 events: give one label per event"):
        kit.event_runs(ids, labels=["only one"])
