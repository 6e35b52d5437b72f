"""Pure: what the Inngest runs of a pending request say its final record is. No IO.

The reconciler (worker/reconciler.py) reads the runs from the Inngest REST API
(`/v1/events/{id}/runs`, the same shapes on the local engine, the Dev Server and
Cloud) and asks `verdict` whether the request can be finished, and how.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from learninngest.store.base import Status

FINAL_RUN_STATUSES = frozenset({"Completed", "Failed", "Cancelled", "Skipped"})
"""Every other status (Running, Scheduled, Unknown, …) means: not over yet, ask again later."""


@dataclass(frozen=True)
class Verdict:
    fields: dict[str, Any]  # what store.finish() is given
    reason: str  # one phrase for the log line


def _error(message: str, reason: str) -> Verdict:
    return Verdict({"status": Status.error, "error": message}, reason)


def error_message(output: Any) -> str:
    """The sentence inside a failed run's output (the error object, possibly under `error`)."""
    if isinstance(output, dict) and isinstance(output.get("error"), dict):
        output = output["error"]
    if isinstance(output, dict):
        return str(output.get("message") or output.get("error") or "the run failed")
    return str(output) if output else "the run failed"


def verdict(runs: list[dict[str, Any]], *, event_found: bool) -> Verdict | None:
    """The final record for a request whose event started `runs`, or None while one is not over."""
    if any(each.get("status") not in FINAL_RUN_STATUSES for each in runs):
        return None
    by_status: dict[str, dict[str, Any]] = {}
    for each in runs:
        by_status.setdefault(str(each.get("status")), each)
    if (run := by_status.get("Completed")) is not None:
        output = run.get("output")
        if isinstance(output, dict) and isinstance(output.get("content"), str):
            fields = {key: output.get(key) for key in ("content", "model", "usage", "attempts")}
            return Verdict({"status": Status.done, **fields}, f"run {run.get('run_id')} completed")
        return _error(
            f"The run completed (run {run.get('run_id')}) but its result was not saved; "
            "send the request again.",
            "run completed without a result",
        )
    if (run := by_status.get("Failed")) is not None:
        return _error(error_message(run.get("output")), f"run {run.get('run_id')} failed")
    if (run := by_status.get("Cancelled")) is not None:
        return _error(
            f"The run was cancelled (run {run.get('run_id')}); send the request again.",
            f"run {run.get('run_id')} cancelled",
        )
    if (run := by_status.get("Skipped")) is not None:
        return _error(
            f"The Inngest server skipped the run (run {run.get('run_id')}); send the request again.",
            f"run {run.get('run_id')} skipped",
        )
    if event_found:
        return _error(
            "The request's event started no run: the backend's functions were probably not synced "
            "with the Inngest server when it arrived. Sync the app, then send the request again.",
            "event started no run",
        )
    return _error(
        "The request's event never reached the Inngest server (the POST was interrupted, or the "
        "server did not confirm the event in time); send the request again.",
        "event never arrived",
    )
