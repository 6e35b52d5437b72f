"""Keep CPython's collector off the objects a server holds for its whole life (`gc.freeze`).

After start-up a backend holds ~220,000 objects the collector tracks (FastAPI, pydantic, the
Inngest SDK; LangChain and openai after the first model call). A full collection walks every
one of them, and under load one came every ~150 chat requests and took ~0.1 s of CPU.
`gc.freeze()` moves the objects alive at that moment to a generation the collector never
walks; what is allocated later is collected as before. Measured side by side, 5-8 % of the
backend's CPU per request (docs/performance.md, issue 19).

Only server processes freeze (`learninngest up`, `serve`, `engine`, the backend's extra
processes): they call `enable()` first. A notebook kernel or a test process runs the same
apps but never freezes: there the cyclic garbage pending at that moment would be kept too.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("learninngest.server")

_enabled = False


def enable() -> None:
    """This process is a server: `freeze()` calls from now on take effect."""
    global _enabled
    _enabled = True


def freeze(why: str) -> None:
    """Freeze every object alive now, in a server process (a no-op elsewhere)."""
    if not _enabled:
        return
    gc.freeze()
    log.debug("gc: %d objects frozen (%s)", gc.get_freeze_count(), why)
