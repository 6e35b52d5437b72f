"""The notebook harness: `stack = kit.up()` and small helpers that cells call synchronously."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from learninngest.kit.cells import (
    as_table,
    event,
    recent_events,
    runs_of,
    send,
    send_event,
    steps_of,
    stream_events,
    timeline,
    wait_for_result,
)
from learninngest.kit.clock import advance_clock
from learninngest.kit.realtime import SubscribeRefused, Subscription, subscribe
from learninngest.kit.runs import print_run, run_url, runs_of_event, wait_for_run, wait_for_step
from learninngest.kit.source import show
from learninngest.kit.stack import Stack, StackError
from learninngest.kit.timelines import event_runs, flow_of, plot_event_runs

__all__ = [
    "Stack",
    "StackError",
    "SubscribeRefused",
    "Subscription",
    "advance_clock",
    "as_table",
    "current",
    "down",
    "event",
    "event_runs",
    "flow_of",
    "nest_asyncio_applied",
    "plot_event_runs",
    "print_run",
    "recent_events",
    "run_url",
    "runs_of",
    "runs_of_event",
    "send",
    "send_event",
    "show",
    "steps_of",
    "subscribe",
    "stream_events",
    "timeline",
    "up",
    "wait_for_result",
    "wait_for_run",
    "wait_for_step",
]

log = logging.getLogger("learninngest.kit")
_current: Stack | None = None
_nest_asyncio_applied = False


def _apply_nest_asyncio_in_jupyter() -> bool:
    """Let `asyncio.run(...)` work in a cell: only when this thread already runs a loop (Jupyter)."""
    global _nest_asyncio_applied
    if _nest_asyncio_applied:
        return True
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False  # a plain script or pytest: leave asyncio as it is
    import nest_asyncio

    nest_asyncio.apply()
    _nest_asyncio_applied = True
    log.info("nest_asyncio applied: asyncio.run() works inside notebook cells")
    return True


def nest_asyncio_applied() -> bool:
    """Whether `kit.up()` found a running loop (Jupyter) and applied nest_asyncio."""
    return _nest_asyncio_applied


def up(**settings: Any) -> Stack:
    """Start (or return) the in-kernel stack. Keyword arguments override settings."""
    global _current
    _apply_nest_asyncio_in_jupyter()
    if _current is not None and _current.running:
        return _current
    from learninngest.config import get_settings

    _current = Stack(settings=get_settings(**settings)).up()
    return _current


def current() -> Stack:
    if _current is None or not _current.running:
        raise StackError("No stack is running: call `stack = kit.up()` first.")
    return _current


def down() -> None:
    global _current
    if _current is not None:
        _current.down()
    _current = None
