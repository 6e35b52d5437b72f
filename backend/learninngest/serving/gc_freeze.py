"""Keep CPython's collector off the objects a server holds for its whole life (`gc.freeze`).

After start-up a backend holds ~220,000 objects the collector tracks (FastAPI, pydantic, the
Inngest SDK; LangChain and openai after the first model call). A full collection walks every
one of them, and under load one came every ~150 chat requests and took ~0.1 s of CPU.
`gc.freeze()` moves the objects alive at that moment to a generation the collector never
walks; what is allocated later is collected as before. Measured side by side, 5-8 % of the
backend's CPU per request (docs/performance.md, issue 19).

A server also collects its youngest generation less often: a chat request allocates a few
thousand container objects, and at CPython's default threshold (700) each request paid for
several young collections and, through them, a full one every few dozen requests. At 2000
(`YOUNG_THRESHOLD`; the older generations' thresholds are kept) the collector's share of a
backend's CPU under load went from ~10.5 % to ~7.4 %, each young collection still ~2 ms or
less (docs/performance.md, issue 19, fifth step).

Only server processes freeze (`learninngest up`, `serve`, `engine`, the backend's extra
processes): they call `enable()` first. A notebook kernel or a test process runs the same
apps but never freezes: there the cyclic garbage pending at that moment would be kept too.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("learninngest.server")

YOUNG_THRESHOLD = 2000

_enabled = False


def enable() -> None:
    """This process is a server: `freeze()` calls from now on take effect; young collections
    come every `YOUNG_THRESHOLD` allocations."""
    global _enabled
    _enabled = True
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, young), middle, old)  # never lower one set already


def freeze(why: str) -> None:
    """Freeze every object alive now, in a server process (a no-op elsewhere)."""
    if not _enabled:
        return
    gc.freeze()
    log.debug("gc: %d objects frozen (%s)", gc.get_freeze_count(), why)
