"""`kit.advance_clock(timedelta(days=1))`: move the engine's virtual clock on by hand.

A sleep, a wait's timeout, a debounce or a throttle's period then ends at once, so a cell
or a check reaches that moment without waiting for it and without racing a fast clock.
Only the local engine has this (POST /v1/clock/advance); the real Dev Server does not.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import httpx

from learninngest.kit.cells import _data, _stack

if TYPE_CHECKING:
    from learninngest.kit.stack import Stack


def advance_clock(by: datetime.timedelta | float, *, stack: Stack | None = None) -> str:
    """Move the engine's clock on by `by` (a timedelta, or virtual seconds); returns its new time."""
    s = _stack(stack)
    seconds = by.total_seconds() if isinstance(by, datetime.timedelta) else float(by)
    reply = httpx.post(f"{s.inngest_url}/v1/clock/advance", json={"seconds": seconds})
    if reply.status_code == 404:
        raise RuntimeError(
            f"{s.inngest_url} cannot move its clock: only the kit's local engine can "
            "(KIT_INNGEST_SERVER=local, the default)"
        )
    return str(_data(reply)["data"]["now"])
