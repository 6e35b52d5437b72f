"""complete() as the worker calls it: LangChain and openai load with the first model call.

They are most of a backend's memory (~57 MiB of RSS, ~1,000 modules) and ~0.5 s of CPU
to import; a backend that has not called a model yet need not hold them. The first call
imports llm/complete.py in a thread, so the serving loop keeps answering meanwhile (the
import still takes its share of the CPU); later calls go straight through. LLM_PRELOAD=true
imports it as the backend starts instead (app.py): the first request then does not wait ~1 s.
"""

from __future__ import annotations

import asyncio
import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from learninngest.config import Settings
from learninngest.serving import gc_freeze

if TYPE_CHECKING:
    from learninngest.llm.complete import Completion, OnToken

_complete_module: ModuleType | None = None


async def _loaded() -> ModuleType:
    global _complete_module
    if _complete_module is None:
        _complete_module = await asyncio.to_thread(importlib.import_module, "learninngest.llm.complete")
        gc_freeze.freeze("LangChain loaded")  # its ~1,000 modules live as long as the process
    return _complete_module


async def preload() -> None:
    """Import LangChain now (LLM_PRELOAD): the first call then pays no import."""
    await _loaded()


async def complete(
    settings: Settings,
    *,
    query: str,
    temperature: float,
    max_tokens: int,
    clean: bool,
    user: str | None = None,
    model: str | None = None,
    on_token: OnToken | None = None,
) -> Completion:
    """llm.complete.complete(), loading it on the first call (see there)."""
    module = await _loaded()
    completion: Completion = await module.complete(
        settings,
        query=query,
        temperature=temperature,
        max_tokens=max_tokens,
        clean=clean,
        user=user,
        model=model,
        on_token=on_token,
    )
    return completion
