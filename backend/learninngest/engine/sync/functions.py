"""A function as the engine runs it (FunctionDef), built from its register payload; triggers matched.

The payload is read and checked in sync/payload.py: a refused function makes the whole sync
fail with a sentence naming the function and the field, so nothing the user asked for is
silently ignored.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from learninngest.engine.cel.expressions import compile_expression, evaluate
from learninngest.engine.sync.payload import ConfigRefused, FlowConfig, FunctionConfig
from learninngest.engine.wire import retries

_UUID_NS = uuid.UUID("6f1c6a52-7f0e-4a57-9d1b-2a1f3c9e0b11")


@dataclass
class Trigger:
    event: str | None = None
    expression: str | None = None
    cron: str | None = None
    jitter_s: float = 0.0  # cron: start up to this many seconds after each cron time

    def matches(self, event: dict[str, Any]) -> bool:
        if self.event is None or not name_matches(self.event, event.get("name", "")):
            return False
        return self.expression is None or evaluate(self.expression, {"event": event})


@dataclass
class Cancel:
    event: str
    if_exp: str | None = None
    timeout_s: float | None = None


@dataclass
class FunctionDef:
    slug: str
    app_id: str
    name: str
    config: dict[str, Any]
    version: int = 1
    url: str = ""
    max_attempts: int = retries.DEFAULT_RETRIES + 1
    concurrency: int | None = None
    triggers: list[Trigger] = field(default_factory=list)
    cancels: list[Cancel] = field(default_factory=list)
    idempotency: str | None = None
    flow: FlowConfig = field(default_factory=FlowConfig)

    @property
    def uuid(self) -> str:
        """A stable UUID per function slug (the REST API's function_id; every call body's fn_id)."""
        return function_uuid(self.slug)


@functools.lru_cache(maxsize=4096)
def function_uuid(slug: str) -> str:
    """uuid5 of the slug: pure, so kept rather than hashed again for every call body."""
    return str(uuid.uuid5(_UUID_NS, slug))


def name_matches(pattern: str, name: str) -> bool:
    """Exact names, or wildcards like `app/*` (a `*` matches any run of characters)."""
    if "*" not in pattern:
        return pattern == name
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


def parse_function(app_id: str, raw: Any, version: int = 1) -> FunctionDef:
    """One function object of a register body (read by sync/payload.py); raises ConfigRefused."""
    config = FunctionConfig.read(raw)
    limits = [c.limit for c in config.flow.concurrency if c.scope == "fn" and c.key is None]
    return FunctionDef(
        slug=config.slug,
        app_id=app_id,
        name=config.name,
        config=raw,
        version=version,
        url=config.url,
        max_attempts=config.max_attempts,
        # The function's own limit (scope fn, no key), as the REST API and docs call it.
        concurrency=min(limits) if limits else None,
        triggers=[Trigger(t.event, t.expression, t.cron, t.jitter_s) for t in config.triggers],
        cancels=[Cancel(c.event, c.if_exp, c.timeout_s) for c in config.cancels],
        idempotency=config.idempotency,
        flow=config.flow,
    )


def idempotency_key(expr: str, event: dict[str, Any]) -> str:
    """The value of the idempotency expression for this event, as text."""
    return json.dumps(compile_expression(expr)({"event": event}), default=repr, sort_keys=True)


__all__ = [
    "Cancel",
    "ConfigRefused",
    "FunctionDef",
    "Trigger",
    "idempotency_key",
    "name_matches",
    "parse_function",
]
