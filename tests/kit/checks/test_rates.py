"""The checks of when events become runs (rate limit, throttle, debounce, batching) reject
plausible wrong answers, among them another flow control that does something else, and
accept differently written right ones."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from learninngest.kit import checks
from learninngest.kit.stack import Stack
from tests.kit.checks.conftest import verdict

MINUTE, HOUR = datetime.timedelta(minutes=1), datetime.timedelta(hours=1)


def test_rate_limit(stack: Stack) -> None:
    pager = checks.Pager()

    def alert_function(**options: Any) -> inngest.Function:
        @stack.function(
            fn_id="ex-alert", trigger=inngest.TriggerEvent(event="exercise/sensor.alert"), **options
        )
        async def alert(ctx: inngest.Context) -> str:
            return await ctx.step.run("page", pager.page, ctx.event.data["sensor"], ctx.event.data["reading"])

        return alert

    verdict(checks.rate_limit(alert_function(), pager), "4 of .*'s 4 alerts in one burst started runs")
    everyone = inngest.RateLimit(limit=1, period=HOUR)
    verdict(checks.rate_limit(alert_function(rate_limit=everyone), pager), "per sensor, not for all sensors")
    queued = inngest.Throttle(limit=1, period=HOUR, burst=0, key="event.data.sensor")
    verdict(checks.rate_limit(alert_function(throttle=queued), pager), "started runs; at most one per hour")
    merged = inngest.Debounce(period=HOUR, key="event.data.sensor")  # 36 s here: longer than the check
    verdict(checks.rate_limit(alert_function(debounce=merged), pager), "none of the alerts started a run")

    per_sensor = inngest.RateLimit(limit=1, period=HOUR, key="event.data.sensor")
    assert checks.rate_limit(alert_function(rate_limit=per_sensor), pager) == "passed"
    written_otherwise = inngest.RateLimit(
        limit=1, period=datetime.timedelta(minutes=60), key="event.data['sensor']"
    )
    assert checks.rate_limit(alert_function(rate_limit=written_otherwise), pager) == "passed"


def test_throttle(stack: Stack) -> None:
    partner = checks.PartnerApi()

    def submit_function(**options: Any) -> inngest.Function:
        trigger = inngest.TriggerEvent(event="exercise/partner.order")

        @stack.function(fn_id="ex-partner", trigger=trigger, **options)
        async def submit(ctx: inngest.Context) -> str:
            return await ctx.step.run("submit", partner.submit, ctx.event.data["order_id"])

        return submit

    verdict(checks.throttle(submit_function(), partner), "9 of the 9 orders sent together")
    dropping = inngest.RateLimit(limit=2, period=MINUTE)
    verdict(checks.throttle(submit_function(rate_limit=dropping), partner), "started no run: dropped")
    two_at_a_time = [inngest.Concurrency(limit=2)]
    verdict(checks.throttle(submit_function(concurrency=two_at_a_time), partner), "9 of the 9 orders")
    too_fast = inngest.Throttle(limit=2, period=datetime.timedelta(seconds=5))
    verdict(checks.throttle(submit_function(throttle=too_fast), partner), "takes at least 3")

    assert (
        checks.throttle(submit_function(throttle=inngest.Throttle(limit=2, period=MINUTE)), partner)
        == "passed"
    )
    one_every_30_s = inngest.Throttle(limit=1, period=datetime.timedelta(seconds=30), burst=2)
    assert checks.throttle(submit_function(throttle=one_every_30_s), partner) == "passed"


def test_batch(stack: Stack) -> None:
    db = checks.Database()
    trigger = inngest.TriggerEvent(event="exercise/reading")
    ten = inngest.Batch(max_size=10, timeout=datetime.timedelta(seconds=5))

    @stack.function(fn_id="ex-ingest", trigger=trigger)
    async def one_by_one(ctx: inngest.Context) -> int:  # the handout
        return await ctx.step.run("insert", db.insert_many, [ctx.event.data])

    verdict(checks.batch(one_by_one, db), "each of the 23 readings started a run of its own")

    @stack.function(fn_id="ex-ingest", trigger=trigger, batch_events=ten)
    async def first_only(ctx: inngest.Context) -> int:
        return await ctx.step.run("insert", db.insert_many, [ctx.event.data])

    verdict(checks.batch(first_only, db), r"3 rows were inserted for 23 readings \(20 missing\)")

    hundred = inngest.Batch(max_size=100, timeout=datetime.timedelta(seconds=5))

    @stack.function(fn_id="ex-ingest", trigger=trigger, batch_events=hundred)
    async def too_big(ctx: inngest.Context) -> int:
        return await ctx.step.run("insert", db.insert_many, [e.data for e in ctx.events])

    verdict(checks.batch(too_big, db), "a run inserted 23 readings at once")

    @stack.function(fn_id="ex-ingest", trigger=trigger, batch_events=ten)
    async def solved(ctx: inngest.Context) -> int:
        return await ctx.step.run("insert", db.insert_many, [event.data for event in ctx.events])

    assert checks.batch(solved, db) == "passed"

    @stack.function(
        fn_id="ex-ingest",
        trigger=trigger,
        batch_events=inngest.Batch(max_size=10, timeout=datetime.timedelta(seconds=2)),
    )
    async def with_a_loop(ctx: inngest.Context) -> int:
        rows = []
        for event in ctx.events:
            rows.append(dict(event.data))
        return await ctx.step.run("insert-batch", lambda: db.insert_many(rows))

    assert checks.batch(with_a_loop, db) == "passed"


def test_debounce(stack: Stack) -> None:
    index = checks.SearchIndex()

    def publish_function(**options: Any) -> inngest.Function:
        @stack.function(
            fn_id="ex-publish", trigger=inngest.TriggerEvent(event="exercise/page.edited"), **options
        )
        async def publish(ctx: inngest.Context) -> str:
            return await ctx.step.run(
                "publish", index.publish, ctx.event.data["page"], ctx.event.data["text"]
            )

        return publish

    half_an_hour, two_hours = datetime.timedelta(minutes=30), datetime.timedelta(hours=2)
    verdict(checks.debounce(publish_function(), index), "an edit started a run as soon as it arrived")
    no_timeout = inngest.Debounce(period=half_an_hour, key="event.data.page")
    verdict(checks.debounce(publish_function(debounce=no_timeout), index), "never published")
    all_pages = inngest.Debounce(period=half_an_hour, timeout=two_hours)
    verdict(checks.debounce(publish_function(debounce=all_pages), index), "expected each page once")
    first_only = inngest.RateLimit(limit=1, period=half_an_hour, key="event.data.page")
    verdict(
        checks.debounce(publish_function(rate_limit=first_only), index), "started a run as soon as it arrived"
    )

    per_page = inngest.Debounce(period=half_an_hour, key="event.data.page", timeout=two_hours)
    assert checks.debounce(publish_function(debounce=per_page), index) == "passed"
    hourly = inngest.Debounce(period=datetime.timedelta(seconds=1800), key="event.data['page']", timeout=HOUR)
    assert checks.debounce(publish_function(debounce=hourly), index) == "passed"
