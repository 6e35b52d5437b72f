"""Pure: read a registered function config, refuse what the engine cannot honour, match triggers.

A refused function makes the whole sync fail with a sentence naming the function and
the field, so nothing the user asked for is silently ignored.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from croniter import croniter

from learninngest.engine import retries
from learninngest.engine.clock import parse_duration
from learninngest.engine.expressions import ExpressionError, compile_expression, evaluate
from learninngest.engine.flow.config import FlowConfig, parse_flow

# Config keys the engine implements; any other key with a non-empty value is refused.
SUPPORTED_KEYS = {"id", "name", "triggers", "steps", "concurrency", "cancel", "idempotency"}
# Flow control (engine/flow/): read and checked by flow.config.
FLOW_KEYS = {"debounce", "batchEvents", "throttle", "rateLimit", "singleton", "priority", "timeouts"}
_UUID_NS = uuid.UUID("6f1c6a52-7f0e-4a57-9d1b-2a1f3c9e0b11")


class ConfigRefused(ValueError):
    """The function config asks for something this engine does not implement."""


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
        """A stable UUID per function slug (the REST API's function_id)."""
        return str(uuid.uuid5(_UUID_NS, self.slug))


def name_matches(pattern: str, name: str) -> bool:
    """Exact names, or wildcards like `app/*` (a `*` matches any run of characters)."""
    if "*" not in pattern:
        return pattern == name
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


def _expr(slug: str, where: str, text: Any) -> str:
    if not isinstance(text, str):
        raise ConfigRefused(f"function {slug}: {where} must be a string")
    try:
        compile_expression(text)
    except ExpressionError as exc:
        raise ConfigRefused(f"function {slug}: {where} {text!r} is not supported ({exc})") from None
    return text


def _triggers(slug: str, raw: Any) -> list[Trigger]:
    if not isinstance(raw, list) or not raw:
        raise ConfigRefused(f"function {slug}: needs at least one trigger")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise ConfigRefused(f"function {slug}: a trigger must be an object")
        if isinstance(item.get("cron"), str):
            if not croniter.is_valid(item["cron"]):
                raise ConfigRefused(f"function {slug}: invalid cron {item['cron']!r}")
            try:
                jitter = parse_duration(str(item["jitter"])) if item.get("jitter") else 0.0
            except ValueError as exc:
                raise ConfigRefused(f"function {slug}: cron jitter: {exc}") from None
            out.append(Trigger(cron=item["cron"], jitter_s=jitter))
        elif isinstance(item.get("event"), str) and item["event"]:
            expr = item.get("expression")
            out.append(
                Trigger(event=item["event"], expression=_expr(slug, "expression", expr) if expr else None)
            )
        else:
            raise ConfigRefused(f"function {slug}: a trigger needs `event` or `cron`")
    return out


def _concurrency(flow: FlowConfig) -> int | None:
    """The function's own limit (scope fn, no key), as the REST API and docs call it."""
    limits = [c.limit for c in flow.concurrency if c.scope == "fn" and c.key is None]
    return min(limits) if limits else None


def _cancels(slug: str, raw: Any) -> list[Cancel]:
    out = []
    for item in raw or []:
        if not isinstance(item, dict) or not isinstance(item.get("event"), str):
            raise ConfigRefused(f"function {slug}: a cancel entry needs an `event`")
        timeout = None
        if item.get("timeout"):
            try:
                timeout = parse_duration(str(item["timeout"]))
            except ValueError as exc:
                raise ConfigRefused(f"function {slug}: cancel timeout: {exc}") from None
        if_exp = _expr(slug, "cancel `if`", item["if"]) if item.get("if") else None
        out.append(Cancel(event=item["event"], if_exp=if_exp, timeout_s=timeout))
    return out


def parse_function(app_id: str, raw: Any, version: int = 1) -> FunctionDef:
    """Validate one function object of a register body; raises ConfigRefused with a reason."""
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise ConfigRefused("a function needs a string `id`")
    slug = raw["id"]
    known = SUPPORTED_KEYS | FLOW_KEYS
    refused = sorted(k for k, v in raw.items() if k not in known and v not in (None, [], {}, ""))
    if refused:
        raise ConfigRefused(
            f"function {slug}: {', '.join(refused)} "
            f"{'is' if len(refused) == 1 else 'are'} not supported by the LearnInngest engine"
        )
    step = (raw.get("steps") or {}).get("step") or {}
    url = ((step.get("runtime") or {}).get("url")) if isinstance(step, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://", "ws://", "wss://")):
        raise ConfigRefused(f"function {slug}: steps.step.runtime.url must be an http(s) or ws(s) URL")
    idem = raw.get("idempotency")
    try:
        flow = parse_flow(raw)
    except ValueError as exc:
        raise ConfigRefused(f"function {slug}: {exc}") from None
    return FunctionDef(
        slug=slug,
        app_id=app_id,
        name=str(raw.get("name") or slug),
        config=raw,
        version=version,
        url=url,
        max_attempts=retries.max_attempts(raw),
        concurrency=_concurrency(flow),
        triggers=_triggers(slug, raw.get("triggers")),
        cancels=_cancels(slug, raw.get("cancel")),
        idempotency=_expr(slug, "idempotency", idem) if idem else None,
        flow=flow,
    )


def idempotency_key(expr: str, event: dict[str, Any]) -> str:
    """The value of the idempotency expression for this event, as text."""
    return json.dumps(compile_expression(expr)({"event": event}), default=repr, sort_keys=True)
