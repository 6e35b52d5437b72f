"""Pure: read a function's flow-control options and refuse what the real server refuses.

Raises ValueError with a sentence naming the option; functions.py turns it into a refused
sync. Durations are intended seconds (the virtual clock scales the waits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from learninngest.engine.cel.expressions import checked
from learninngest.engine.clock import parse_duration

MAX_CONCURRENCY_ENTRIES = 2  # the real server's limit
DEBOUNCE_MIN_S, DEBOUNCE_MAX_S = 1.0, 7 * 86400.0
SCOPES = ("fn", "env", "account")


@dataclass(frozen=True)
class Debounce:
    period: float
    key: str | None = None
    timeout: float | None = None


@dataclass(frozen=True)
class Batch:
    max_size: int
    timeout: float
    key: str | None = None
    if_exp: str | None = None


@dataclass(frozen=True)
class Gcra:
    """throttle (delays starts) or rateLimit (drops events)."""

    limit: int
    period: float
    key: str | None = None
    burst: int = 0


@dataclass(frozen=True)
class Singleton:
    mode: str  # "skip" or "cancel"
    key: str | None = None


@dataclass(frozen=True)
class Concurrency:
    limit: int
    scope: str = "fn"
    key: str | None = None


@dataclass(frozen=True)
class Timeouts:
    start: float | None = None
    finish: float | None = None


@dataclass(frozen=True)
class FlowConfig:
    debounce: Debounce | None = None
    batch: Batch | None = None
    throttle: Gcra | None = None
    rate_limit: Gcra | None = None
    singleton: Singleton | None = None
    priority: str | None = None
    concurrency: list[Concurrency] = field(default_factory=list)
    timeouts: Timeouts | None = None

    @property
    def per_run(self) -> bool:
        """Does flow control keep anything per run (keys, factor, deadlines)? Plain functions: no."""
        return bool(self.singleton or self.priority or self.concurrency or self.throttle or self.timeouts)


def _expr(where: str, text: Any) -> str | None:
    if text in (None, ""):
        return None
    if not isinstance(text, str):
        raise ValueError(f"{where} must be a string expression")
    return checked(where, text)


def _duration(where: str, value: Any, required: bool = True) -> float | None:
    if value in (None, ""):
        if required:
            raise ValueError(f"{where} is required")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return parse_duration(str(value))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _int(where: str, value: Any, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{where} must be an integer >= {minimum}")
    return value


def _obj(name: str, raw: Any) -> dict[str, Any] | None:
    if raw in (None, {}, ""):
        return None
    if not isinstance(raw, dict):
        raise ValueError(f"{name} must be an object")
    return raw


def parse_debounce(raw: Any) -> Debounce | None:
    if (obj := _obj("debounce", raw)) is None:
        return None
    period = _duration("debounce.period", obj.get("period"))
    assert period is not None
    if not DEBOUNCE_MIN_S <= period <= DEBOUNCE_MAX_S:
        raise ValueError(f"debounce.period must be between 1s and 7d (got {obj.get('period')!r})")
    timeout = _duration("debounce.timeout", obj.get("timeout"), required=False)
    return Debounce(period=period, key=_expr("debounce.key", obj.get("key")), timeout=timeout)


def parse_batch(raw: Any) -> Batch | None:
    if (obj := _obj("batchEvents", raw)) is None:
        return None
    size = _int("batchEvents.maxSize", obj.get("maxSize"), 1)
    timeout = _duration("batchEvents.timeout", obj.get("timeout"), required=False)
    if size <= 1 or not timeout:
        return None  # like the real server: a batch of one, or without a timeout, is no batch
    return Batch(
        max_size=size,
        timeout=timeout,
        key=_expr("batchEvents.key", obj.get("key")),
        if_exp=_expr("batchEvents.if", obj.get("if")),
    )


def parse_gcra(name: str, raw: Any, burst_default: int = 0) -> Gcra | None:
    if (obj := _obj(name, raw)) is None:
        return None
    period = _duration(f"{name}.period", obj.get("period"))
    assert period is not None
    if period <= 0:
        raise ValueError(f"{name}.period must be longer than 0s")
    burst = obj.get("burst")
    return Gcra(
        limit=_int(f"{name}.limit", obj.get("limit"), 1),
        period=period,
        key=_expr(f"{name}.key", obj.get("key")),
        burst=burst_default if burst is None else _int(f"{name}.burst", burst, 0),
    )


def parse_singleton(raw: Any) -> Singleton | None:
    if (obj := _obj("singleton", raw)) is None:
        return None
    if obj.get("mode") not in ("skip", "cancel"):
        raise ValueError(f"singleton.mode must be 'skip' or 'cancel' (got {obj.get('mode')!r})")
    return Singleton(mode=obj["mode"], key=_expr("singleton.key", obj.get("key")))


def parse_concurrency(raw: Any) -> list[Concurrency]:
    if raw in (None, [], {}, 0):
        return []
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = [{"limit": raw}]
    items = raw if isinstance(raw, list) else [raw]
    if len(items) > MAX_CONCURRENCY_ENTRIES:
        raise ValueError(f"concurrency allows at most {MAX_CONCURRENCY_ENTRIES} entries (got {len(items)})")
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("limit"), int):
            raise ValueError("concurrency needs an integer `limit`")
        scope = item.get("scope") or "fn"
        if scope not in SCOPES:
            raise ValueError(f"concurrency scope {scope!r} is not one of fn, env, account")
        key = _expr("concurrency.key", item.get("key"))
        if scope != "fn" and key is None:
            raise ValueError(f"concurrency with scope {scope!r} needs a `key`")
        if item["limit"] > 0:  # 0 (or less) means no limit, as on the real server
            out.append(Concurrency(limit=item["limit"], scope=scope, key=key))
    return out


def parse_timeouts(raw: Any) -> Timeouts | None:
    if (obj := _obj("timeouts", raw)) is None:
        return None
    start = _duration("timeouts.start", obj.get("start"), required=False)
    finish = _duration("timeouts.finish", obj.get("finish"), required=False)
    return None if start is None and finish is None else Timeouts(start=start, finish=finish)


def parse_flow(raw: dict[str, Any]) -> FlowConfig:
    """Every flow-control option of one function config (ValueError names the bad one)."""
    priority = raw.get("priority")
    if priority not in (None, {}) and not isinstance(priority, dict):
        raise ValueError("priority must be an object with `run`")
    cfg = FlowConfig(
        debounce=parse_debounce(raw.get("debounce")),
        batch=parse_batch(raw.get("batchEvents")),
        throttle=parse_gcra("throttle", raw.get("throttle"), burst_default=1),
        rate_limit=parse_gcra("rateLimit", raw.get("rateLimit")),
        singleton=parse_singleton(raw.get("singleton")),
        priority=_expr("priority.run", (priority or {}).get("run")),
        concurrency=parse_concurrency(raw.get("concurrency")),
        timeouts=parse_timeouts(raw.get("timeouts")),
    )
    # Combinations the real server refuses.
    if cfg.batch and cfg.debounce:
        raise ValueError("a function cannot use batchEvents and debounce together")
    if cfg.batch and cfg.priority:
        raise ValueError("a function cannot use batchEvents and priority.run together")
    return cfg
