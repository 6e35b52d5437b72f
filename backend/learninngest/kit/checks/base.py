"""What every check shares: the verdict, fresh random fixtures, and reading runs off the engine.

A check returns the string `"passed"` or `"NotYet: <what is still wrong>"`; otter-grader's
test compares that value with `'passed'`, so a failing task shows the sentence itself, not
a traceback. The facts come from the local engine (runs of an event, a run's timeline,
`POST /v1/clock/advance`) and from the fixture objects the student's steps call.
"""

from __future__ import annotations

import functools
import random
import string
import time
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec

import httpx
import inngest

from learninngest.kit.cells import _data, _stack
from learninngest.kit.runs import FINAL

P = ParamSpec("P")

# Seeded from the OS: a notebook (or a grader) calling random.seed() does not make the
# fixtures predictable, so an answer cannot be written for one set of names.
_random = random.Random()

PEOPLE = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Tim"]
PLACES = ["Paris", "Lagos", "Lima", "Oslo", "Hanoi", "Quito", "Perth", "Turin", "Accra", "Busan"]
PASSED = "passed"


_http: httpx.Client | None = None


def _client() -> httpx.Client:
    """One client for every call: `httpx.get` builds an SSL context each time (~0.1 s on a
    busy machine), and a check makes hundreds of calls."""
    global _http
    if _http is None:
        _http = httpx.Client(timeout=30.0)
    return _http


def engine(path: str, **params: Any) -> Any:
    """The `data` of the local engine's answer to GET `path`."""
    return _data(_client().get(f"{_stack(None).inngest_url}{path}", params=params))["data"]


class NotYet(AssertionError):  # noqa: N818 - the name is what a student reads: "NotYet: ..."
    """The exercise is not solved yet; the message says what is still wrong."""


def check(fn: Callable[P, object]) -> Callable[P, str]:
    """A check's verdict: "passed", or "NotYet: ..." with the sentence it raised."""

    @functools.wraps(fn)
    def verdict(*args: P.args, **kwargs: P.kwargs) -> str:
        try:
            fn(*args, **kwargs)
        except NotYet as exc:
            return f"NotYet: {exc}"
        return PASSED

    return verdict


# --- fresh fixtures: different names, amounts and messages every time a check runs
def tag(n: int = 4) -> str:
    return "".join(_random.choices(string.ascii_lowercase + string.digits, k=n))


def person() -> str:
    return f"{_random.choice(PEOPLE)}-{tag(3)}"


def place() -> str:
    return f"{_random.choice(PLACES)}-{tag(3)}"


def amount(low: float = 10, high: float = 900) -> float:
    return round(_random.uniform(low, high), 2)


def choice(options: list[Any]) -> Any:
    return _random.choice(options)


def sample(options: list[Any], k: int) -> list[Any]:
    return _random.sample(options, k)


# --- the function under test
def _function(function: Any) -> inngest.Function[Any]:
    if not isinstance(function, inngest.Function):
        raise NotYet(
            f"expected the function the @stack.function cell made, got {type(function).__name__}: "
            "run the task's cell, then its check"
        )
    return function


def config_of(function: Any) -> Any:
    """The function's registered configuration (what the engine was told at sync)."""
    return _function(function).get_config(_stack(None).backend_url).main


def slug(function: Any) -> str:
    s = _stack(None)
    fn_id = _function(function).id
    prefix = f"{s.settings.inngest_app_id}-"
    return fn_id if fn_id.startswith(prefix) else prefix + fn_id


# --- events and runs
def send(name: str, data: dict[str, Any]) -> str:
    return send_many(name, [data])[0]


def send_many(name: str, datas: Iterable[dict[str, Any]]) -> list[str]:
    """Events in one request: they arrive together, however busy the machine is."""
    s = _stack(None)
    key = s.settings.inngest_event_key or "NO_EVENT_KEY_SET"
    reply = _client().post(f"{s.inngest_url}/e/{key}", json=[{"name": name, "data": d} for d in datas])
    return list(_data(reply)["ids"])


def runs(event_id: str, function: Any) -> list[dict[str, Any]]:
    """The runs of `function` the event started (decided when it arrived: they exist at once),
    a singleton's `Skipped` one included: the event lists none (as on the server), the
    engine's flow log names it."""
    wanted = slug(function)
    started = [r for r in engine(f"/v1/events/{event_id}/runs") if r.get("function_slug") == wanted]
    if started:
        return started
    skipped = [
        d["run_id"]
        for d in engine(f"/v1/events/{event_id}/flow")
        if d["decision"] == "skipped" and d.get("function_slug") == wanted and d.get("run_id")
    ]
    return [engine(f"/v1/runs/{run_id}") for run_id in skipped]


def distinct_runs(event_ids: Iterable[str], function: Any) -> dict[str, dict[str, Any]]:
    """Runs by run id: one run shared by several events (a batch) counts once."""
    return {r["run_id"]: r for e in event_ids for r in runs(e, function)}


def batched_into(event_id: str, function: Any) -> str | None:
    """The run a batch took the event into (the engine's flow log), or the run it started."""
    started = runs(event_id, function)
    if started:
        return str(started[0]["run_id"])
    wanted = slug(function)
    decisions = engine(f"/v1/events/{event_id}/flow")
    taken = [d["run_id"] for d in decisions if d.get("function_slug") == wanted and d.get("run_id")]
    return str(taken[0]) if taken else None


def wait_until(fact: Callable[[], Any], timeout: float, poll: float = 0.05) -> Any:
    """The first truthy value of `fact()` within `timeout` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        value = fact()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(poll)


def finished(run_id: str, timeout: float = 30.0) -> dict[str, Any] | None:
    """The run once it has ended (Completed, Failed, Cancelled), or None after `timeout`."""

    def ended() -> dict[str, Any] | None:
        run = engine(f"/v1/runs/{run_id}")
        return run if run["status"] in (*FINAL, "Skipped") else None

    return wait_until(ended, timeout)


def only_run(event_id: str, function: Any, event: str, timeout: float = 30.0) -> dict[str, Any]:
    """The single run the event started, once it has ended; NotYet when none started or ended."""
    started = wait_until(lambda: runs(event_id, function), 2.0)
    if not started:
        raise NotYet(
            f"{event!r} started no run of {_function(function).id}: keep its trigger "
            f"inngest.TriggerEvent(event={event!r}) and run the function's cell again"
        )
    run = finished(started[0]["run_id"], timeout)
    if run is None:
        raise NotYet(f"the run of {_function(function).id} did not end within {timeout:.0f} s")
    return run


def rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's timeline: one row per step attempt, sleep, wait, invoke, flow-control wait."""
    return list(engine(f"/v1/runs/{run['run_id']}/steps"))


def failed(run: dict[str, Any]) -> NotYet:
    output = run.get("output")
    message = output.get("message") if isinstance(output, dict) else output
    return NotYet(f"your run ended {run['status']} ({message}); fix the function and run its cell again")


def advance_clock(seconds: float) -> None:
    """Move the engine's virtual clock on (see kit.clock)."""
    from learninngest.kit.clock import advance_clock as advance

    advance(seconds)


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


HOUR = 3600.0
DAY = 86400.0
