"""The engine's retention: finished runs, their steps and old events go after `retention_s`.

A task started with the engine purges the state every purge_period(retention_s) and logs
one line when it removed something. Active runs (scheduled, running, sleeping, waiting)
are never purged, whatever their age.
"""

from __future__ import annotations

import asyncio
import logging

from learninngest.engine.clock import Clock
from learninngest.engine.state.db import State
from learninngest.retention import purge_period

log = logging.getLogger("learninngest.engine")


def purge_once(state: State, clock: Clock, retention_s: float) -> dict[str, int]:
    now = clock.now()
    removed = state.purge(before=now - retention_s, now=now)
    if any(removed.values()):
        log.info(
            "purged %d finished run(s), %d step(s) and %d event(s) older than %gs",
            removed["runs"],
            removed["steps"],
            removed["events"],
            retention_s,
        )
    return removed


async def purge_periodically(state: State, clock: Clock, retention_s: float) -> None:
    """Purge now, then every purge_period(retention_s), until cancelled."""
    period = purge_period(retention_s)
    while True:
        try:
            purge_once(state, clock, retention_s)
        except Exception as exc:  # a locked or closed database: try again next period
            log.warning("engine purge failed (will retry in %gs): %s", period, exc)
        await asyncio.sleep(period)
