"""Runs of any function, for cells that write their own: wait for a run or a step, print a run.

`cells.py` is about the backend's chat requests; this module is about the functions a
lesson defines in a cell, which are triggered by events the lesson sends itself.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import httpx

from learninngest.kit.cells import _data, _stack, steps_of

if TYPE_CHECKING:
    from learninngest.kit.stack import Stack


FINAL = ("Completed", "Failed", "Cancelled", "Skipped")  # Skipped: a singleton in skip mode


def runs_of_event(event_id: str, *, stack: Stack | None = None) -> list[dict[str, Any]]:
    """The runs an event started (REST v1 /v1/events/{id}/runs), with the engine's `function_slug`."""
    s = _stack(stack)
    return _data(httpx.get(f"{s.inngest_url}/v1/events/{event_id}/runs"))["data"]


def runs_or_taken(event_id: str, s: Stack) -> list[dict[str, Any]]:
    """The runs an event started, else the runs flow control gave it to (local engine only).

    A batch or a debounce hangs its run off another event, and a singleton in skip mode
    lists no run under the event (as the server, which keeps only a span): the engine's flow
    log (`/v1/events/{id}/flow`) names the run that took the event, or the Skipped one."""
    runs = runs_of_event(event_id, stack=s)
    if runs:
        return runs
    reply = httpx.get(f"{s.inngest_url}/v1/events/{event_id}/flow")
    if reply.status_code == 404:  # not the local engine: no flow log
        return []
    taken = sorted({d["run_id"] for d in _data(reply)["data"] if d.get("run_id")})
    return [_data(httpx.get(f"{s.inngest_url}/v1/runs/{run_id}"))["data"] for run_id in taken]


def _function_id(function: Any, s: Stack) -> str | None:
    if function is None:
        return None
    fn_id = function if isinstance(function, str) else function.id
    prefix = f"{s.settings.inngest_app_id}-"
    return fn_id if fn_id.startswith(prefix) else prefix + fn_id


def wait_for_run(
    event_id: str,
    function: Any = None,
    *,
    status: tuple[str, ...] = FINAL,
    timeout: float = 30.0,
    stack: Stack | None = None,
) -> dict[str, Any]:
    """The run `event_id` started (of `function`: an inngest.Function or its id), once in `status`;
    on the local engine also the run flow control gave the event to (`runs_or_taken`)."""
    s = _stack(stack)
    slug = _function_id(function, s)
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        # The real Dev Server names no function slug on a run: then any run of the event counts.
        seen = [r for r in runs_or_taken(event_id, s) if slug is None or r.get("function_slug", slug) == slug]
        for run in seen:
            if run["status"] in status:
                return run
        time.sleep(0.05)
    found = ", ".join(f"{r.get('function_slug')}: {r['status']}" for r in seen) or "no run"
    raise TimeoutError(
        f"event {event_id}: no run of {slug or 'any function'} in {status} after {timeout} s ({found})"
    )


def wait_for_step(
    event_id: str, function: Any, step: str, *, timeout: float = 30.0, stack: Stack | None = None
) -> dict[str, Any]:
    """The first timeline row named `step` of the run `event_id` started, once it exists.

    A lesson waits for this before sending the event a sleeping or waiting run expects:
    an event that arrives before the wait is registered does not reach it.
    """
    s = _stack(stack)
    slug = _function_id(function, s)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in runs_of_event(event_id, stack=s):
            if run.get("function_slug", slug) != slug:
                continue
            rows = [row for row in steps_of(run["run_id"], stack=s) if row["name"] == step]
            if rows:
                return rows[0] | {"run_id": run["run_id"]}
        time.sleep(0.05)
    raise TimeoutError(f"event {event_id}: no step {step!r} of {slug} after {timeout} s")


def run_url(run: dict[str, Any] | str, *, stack: Stack | None = None) -> str:
    """The run's page on the engine's dashboard (its step timeline), as a browser opens it."""
    s = _stack(stack)
    run_id = run if isinstance(run, str) else run["run_id"]
    return s.browser.url(f"{s.inngest_url}/runs/{run_id}")


def print_run(run: dict[str, Any], *, stack: Stack | None = None) -> None:
    """One run, readably: function, status, output, its steps in order, and its dashboard page."""
    s = _stack(stack)
    print(f"run of {run.get('function_slug')}: {run['status']}")
    print("  output:", json.dumps(run.get("output"), default=str))
    for step in steps_of(run["run_id"], stack=s):
        delay = step.get("intended_delay_ms")
        seconds = f"{delay / 1000:.0f}" if delay and delay >= 10_000 else f"{(delay or 0) / 1000:.1f}"
        waited = f", waits {seconds} s (virtual)" if delay else ""
        print(
            f"  step {step['name']:<14} {step['op']:<14} attempt {step['attempt']}  {step['status']}{waited}"
        )
    print("  dashboard:", run_url(run, stack=s))
