"""The checks of runs in progress (concurrency per key, singleton) reject plausible wrong
answers, among them another flow control that does something else, and accept differently
written right ones."""

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
