"""Pure: function `timeouts` — how long a run may wait to start, and to finish once started.

`start` counts from when the run was queued (created), `finish` from its first call. Both
cancel the run (status Cancelled), as the real server does. Deadlines are real times; the
limits are intended seconds, scaled by the virtual clock.
"""

from __future__ import annotations


def start_deadline(created: float, start_s: float | None, scale: float) -> float | None:
    return None if start_s is None else created + start_s * scale


def finish_deadline(started: float, finish_s: float | None, scale: float) -> float | None:
    return None if finish_s is None else started + finish_s * scale


def expired(start_by: float | None, finish_by: float | None, started: float | None, now: float) -> str | None:
    """ "start" or "finish" when that deadline has passed at real time `now`, else None."""
    if started is None:
        return "start" if start_by is not None and now >= start_by else None
    return "finish" if finish_by is not None and now >= finish_by else None


def reason(which: str, limit_s: float | None) -> str:
    limit = "its limit" if limit_s is None else f"{limit_s:g}s"
    if which == "start":
        return f"timeouts.start: the run did not start within {limit} of being queued"
    return f"timeouts.finish: the run did not finish within {limit} of starting"
