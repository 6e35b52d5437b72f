"""The flow-control checks (concurrency per key, rate limit, throttle, batching, singleton)
reject plausible wrong answers, among them another flow control that does something else,
and accept differently written right ones."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from learninngest.kit import checks
from learninngest.kit.stack import Stack
from tests.kit.checks.conftest import verdict

MINUTE, HOUR = datetime.timedelta(minutes=1), datetime.timedelta(hours=1)


def test_concurrency(stack: Stack) -> None:
    exports = checks.ExportService()

    def export_function(**options: Any) -> inngest.Function:
        trigger = inngest.TriggerEvent(event="exercise/export.requested")

        @stack.function(fn_id="ex-export", trigger=trigger, **options)
        async def export(ctx: inngest.Context) -> str:
            data = ctx.event.data
            return await ctx.step.run("export", exports.export, data["customer"], data["export_id"])

        return export

    verdict(checks.concurrency(export_function(), exports), "two exports of .* ran at the same time")
    per_export = [inngest.Concurrency(limit=1, key="event.data.export_id")]
    verdict(checks.concurrency(export_function(concurrency=per_export), exports), "ran at the same time")

    per_customer = [inngest.Concurrency(limit=1, key="event.data.customer")]
    assert checks.concurrency(export_function(concurrency=per_customer), exports) == "passed"
    two_limits = [
        inngest.Concurrency(limit=5),
        inngest.Concurrency(limit=1, key="event.data['customer']", scope="fn"),
    ]
    assert checks.concurrency(export_function(concurrency=two_limits), exports) == "passed"


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

    verdict(checks.throttle(submit_function(), partner), "7 of the 7 orders sent together")
    dropping = inngest.RateLimit(limit=2, period=MINUTE)
    verdict(checks.throttle(submit_function(rate_limit=dropping), partner), "started no run: dropped")
    two_at_a_time = [inngest.Concurrency(limit=2)]
    verdict(checks.throttle(submit_function(concurrency=two_at_a_time), partner), "7 of the 7 orders")
    too_fast = inngest.Throttle(limit=2, period=datetime.timedelta(seconds=10))
    verdict(checks.throttle(submit_function(throttle=too_fast), partner), "at least 2")

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


def test_singleton(stack: Stack) -> None:
    reports = checks.ReportBuilder()

    def report_function(**options: Any) -> inngest.Function:
        trigger = inngest.TriggerEvent(event="exercise/report.requested")

        @stack.function(fn_id="ex-report", trigger=trigger, **options)
        async def report(ctx: inngest.Context) -> str:
            return await ctx.step.run("build", reports.build, ctx.event.data["team"])

        return report

    verdict(checks.singleton(report_function(), reports), r"is (Running|Scheduled): it should be skipped")
    queued = [inngest.Concurrency(limit=1, key="event.data.team")]
    verdict(
        checks.singleton(report_function(concurrency=queued), reports), "is Scheduled: it should be skipped"
    )
    everyone = inngest.Singleton(mode="skip")
    verdict(checks.singleton(report_function(singleton=everyone), reports), "was skipped though no report of")
    replacing = inngest.Singleton(key="event.data.team", mode="cancel")
    verdict(checks.singleton(report_function(singleton=replacing), reports), "it should be skipped")

    per_team = inngest.Singleton(key="event.data.team", mode="skip")
    assert checks.singleton(report_function(singleton=per_team), reports) == "passed"

    @stack.function(
        fn_id="ex-report",
        trigger=inngest.TriggerEvent(event="exercise/report.requested"),
        singleton=inngest.Singleton(key="event.data['team']", mode="skip"),
    )
    async def written_otherwise(ctx: inngest.Context) -> str:
        async def build() -> str:
            return await reports.build(ctx.event.data["team"])

        return await ctx.step.run("build-report", build)

    assert checks.singleton(written_otherwise, reports) == "passed"
