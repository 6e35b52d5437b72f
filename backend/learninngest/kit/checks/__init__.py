"""The exercises' checks (notebooks/teacher/exercises.py): each runs the student's function
on the running stack with fresh random data and reads what happened off the engine.

A check returns "passed" or "NotYet: <what is still wrong>" (otter-grader's test for the
task compares it with 'passed'). The fixtures are the pretend services the tasks' steps
call; each records what it was asked, so a check can compare that with the run's timeline.
Only the kit's local engine serves the timeline and moves its clock, so the checks need it
(the default), not the Dev Server.
"""

from learninngest.kit.checks.base import NotYet
from learninngest.kit.checks.events import (
    Bank,
    Mailer,
    Payroll,
    VatOffice,
    Warehouse,
    approval,
    cancel,
    dedupe,
    idempotency,
    invoke,
)
from learninngest.kit.checks.failures import CardService, failure_handler
from learninngest.kit.checks.flow import ExportService, ReportBuilder, concurrency, singleton
from learninngest.kit.checks.rates import (
    Database,
    Pager,
    PartnerApi,
    SearchIndex,
    batch,
    debounce,
    rate_limit,
    throttle,
)
from learninngest.kit.checks.steps import FlakyWeather, RaffleDesk, Suppliers, parallel, replay, retries

__all__ = [
    "Bank",
    "CardService",
    "Database",
    "ExportService",
    "FlakyWeather",
    "Mailer",
    "NotYet",
    "Pager",
    "PartnerApi",
    "Payroll",
    "RaffleDesk",
    "ReportBuilder",
    "SearchIndex",
    "Suppliers",
    "VatOffice",
    "Warehouse",
    "approval",
    "batch",
    "cancel",
    "concurrency",
    "debounce",
    "dedupe",
    "failure_handler",
    "idempotency",
    "invoke",
    "parallel",
    "rate_limit",
    "replay",
    "retries",
    "singleton",
    "throttle",
]
