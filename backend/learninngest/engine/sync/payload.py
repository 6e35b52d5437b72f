"""The SDK's register payload (`POST /fn/register`) as pydantic models: read and checked here only.

`RegisterBody` is the body (app name, URL, its functions as sent); `FunctionConfig` one
function, with its triggers, cancels, retries, idempotency and flow-control options (the
models below it). Each model reads the wire shape in a `mode="before"` validator that says
exactly what is wrong, in the Dev Server's words (the SDKs show them to the user), and keeps
the engine's names (`max_size`, `if_exp`...). `FunctionConfig.read` and `RegisterBody.read`
turn a refusal into `ConfigRefused` (a function's message starts with `function <id>:`).
The flow-control models are also the engine's own config types (engine/flow/ reads them).
Durations are intended seconds (the virtual clock scales the waits).
"""

from __future__ import annotations

from typing import Any

from croniter import croniter
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from learninngest.engine.cel.expressions import checked
from learninngest.engine.clock import parse_duration
from learninngest.engine.wire import retries

# Config keys the engine implements; any other key with a non-empty value is refused.
SUPPORTED_KEYS = {"id", "name", "triggers", "steps", "concurrency", "cancel", "idempotency"}
# Flow control (engine/flow/).
FLOW_KEYS = {"debounce", "batchEvents", "throttle", "rateLimit", "singleton", "priority", "timeouts"}
MAX_CONCURRENCY_ENTRIES = 2  # the real server's limit
DEBOUNCE_MIN_S, DEBOUNCE_MAX_S = 1.0, 7 * 86400.0
SCOPES = ("fn", "env", "account")


class ConfigRefused(ValueError):
    """The payload asks for something this engine does not implement, or is malformed."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


def _refusal(exc: ValueError) -> str:
    """The sentence of the first refusal (a ValueError raised by a validator below, maybe inside
    the validation of a nested model)."""
    if not isinstance(exc, ValidationError):
        return str(exc)
    first = exc.errors()[0]
    error = (first.get("ctx") or {}).get("error")
    return _refusal(error) if isinstance(error, ValueError) else str(first["msg"])


# --- small readers, each raising ValueError with the sentence the user sees
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


# --- flow control
class Debounce(_Model):
    period: float
    key: str | None = None
    timeout: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _read(cls, raw: Any) -> Any:
        period = _duration("debounce.period", raw.get("period"))
        assert period is not None
        if not DEBOUNCE_MIN_S <= period <= DEBOUNCE_MAX_S:
            raise ValueError(f"debounce.period must be between 1s and 7d (got {raw.get('period')!r})")
        timeout = _duration("debounce.timeout", raw.get("timeout"), required=False)
        return {"period": period, "key": _expr("debounce.key", raw.get("key")), "timeout": timeout}


class Batch(_Model):
    max_size: int
    timeout: float
    key: str | None = None
    if_exp: str | None = None

    @classmethod
    def read(cls, raw: Any) -> Batch | None:
        """Like the real server: a batch of one, or without a timeout, is no batch."""
        if (obj := _obj("batchEvents", raw)) is None:
            return None
        size = _int("batchEvents.maxSize", obj.get("maxSize"), 1)
        timeout = _duration("batchEvents.timeout", obj.get("timeout"), required=False)
        if size <= 1 or not timeout:
            return None
        return cls(
            max_size=size,
            timeout=timeout,
            key=_expr("batchEvents.key", obj.get("key")),
            if_exp=_expr("batchEvents.if", obj.get("if")),
        )


class Gcra(_Model):
    """throttle (delays starts) or rateLimit (drops events)."""

    limit: int
    period: float
    key: str | None = None
    burst: int = 0

    @classmethod
    def read(cls, name: str, raw: Any) -> Gcra | None:
        if (obj := _obj(name, raw)) is None:
            return None
        period = _duration(f"{name}.period", obj.get("period"))
        assert period is not None
        if period <= 0:
            raise ValueError(f"{name}.period must be longer than 0s")
        burst = obj.get("burst")
        return cls(
            limit=_int(f"{name}.limit", obj.get("limit"), 1),
            period=period,
            key=_expr(f"{name}.key", obj.get("key")),
            burst=0 if burst is None else _int(f"{name}.burst", burst, 0),
        )


class Singleton(_Model):
    mode: str  # "skip" or "cancel"
    key: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _read(cls, raw: Any) -> Any:
        if raw.get("mode") not in ("skip", "cancel"):
            raise ValueError(f"singleton.mode must be 'skip' or 'cancel' (got {raw.get('mode')!r})")
        return {"mode": raw["mode"], "key": _expr("singleton.key", raw.get("key"))}


class Concurrency(_Model):
    limit: int
    scope: str = "fn"
    key: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _read(cls, raw: Any) -> Any:
        if not isinstance(raw, dict) or not isinstance(raw.get("limit"), int):
            raise ValueError("concurrency needs an integer `limit`")
        scope = raw.get("scope") or "fn"
        if scope not in SCOPES:
            raise ValueError(f"concurrency scope {scope!r} is not one of fn, env, account")
        key = _expr("concurrency.key", raw.get("key"))
        if scope != "fn" and key is None:
            raise ValueError(f"concurrency with scope {scope!r} needs a `key`")
        return {"limit": raw["limit"], "scope": scope, "key": key}

    @classmethod
    def read_all(cls, raw: Any) -> list[Concurrency]:
        """A number, an object or a list of them; 0 (or less) means no limit, as on the real server."""
        if raw in (None, [], {}, 0):
            return []
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = [{"limit": raw}]
        items = raw if isinstance(raw, list) else [raw]
        if len(items) > MAX_CONCURRENCY_ENTRIES:
            raise ValueError(
                f"concurrency allows at most {MAX_CONCURRENCY_ENTRIES} entries (got {len(items)})"
            )
        return [c for c in (cls.model_validate(item) for item in items) if c.limit > 0]


class Timeouts(_Model):
    start: float | None = None
    finish: float | None = None

    @classmethod
    def read(cls, raw: Any) -> Timeouts | None:
        if (obj := _obj("timeouts", raw)) is None:
            return None
        start = _duration("timeouts.start", obj.get("start"), required=False)
        finish = _duration("timeouts.finish", obj.get("finish"), required=False)
        return None if start is None and finish is None else cls(start=start, finish=finish)


class FlowConfig(_Model):
    debounce: Debounce | None = None
    batch: Batch | None = None
    throttle: Gcra | None = None
    rate_limit: Gcra | None = None
    singleton: Singleton | None = None
    priority: str | None = None
    concurrency: list[Concurrency] = []
    timeouts: Timeouts | None = None

    @property
    def per_run(self) -> bool:
        """Does flow control keep anything per run (keys, factor, deadlines)? Plain functions: no."""
        return bool(self.singleton or self.priority or self.concurrency or self.throttle or self.timeouts)

    @classmethod
    def read(cls, raw: dict[str, Any]) -> FlowConfig:
        """Every flow-control option of one function config (ValueError names the bad one)."""
        priority = raw.get("priority")
        if priority not in (None, {}) and not isinstance(priority, dict):
            raise ValueError("priority must be an object with `run`")
        debounce = _obj("debounce", raw.get("debounce"))
        singleton = _obj("singleton", raw.get("singleton"))
        cfg = cls(
            debounce=None if debounce is None else Debounce.model_validate(debounce),
            batch=Batch.read(raw.get("batchEvents")),
            # No burst given means none (the real server fills in no default): `limit` at once.
            throttle=Gcra.read("throttle", raw.get("throttle")),
            rate_limit=Gcra.read("rateLimit", raw.get("rateLimit")),
            singleton=None if singleton is None else Singleton.model_validate(singleton),
            priority=_expr("priority.run", (priority or {}).get("run")),
            concurrency=Concurrency.read_all(raw.get("concurrency")),
            timeouts=Timeouts.read(raw.get("timeouts")),
        )
        # Combinations the real server refuses.
        if cfg.batch and cfg.debounce:
            raise ValueError("a function cannot use batchEvents and debounce together")
        if cfg.batch and cfg.priority:
            raise ValueError("a function cannot use batchEvents and priority.run together")
        return cfg


# --- one function
class TriggerConfig(_Model):
    event: str | None = None
    expression: str | None = None
    cron: str | None = None
    jitter_s: float = 0.0  # cron: start up to this many seconds after each cron time

    @model_validator(mode="before")
    @classmethod
    def _read(cls, item: Any) -> Any:
        if not isinstance(item, dict):
            raise ValueError("a trigger must be an object")
        if isinstance(item.get("cron"), str):
            if not croniter.is_valid(item["cron"]):
                raise ValueError(f"invalid cron {item['cron']!r}")
            try:
                jitter = parse_duration(str(item["jitter"])) if item.get("jitter") else 0.0
            except ValueError as exc:
                raise ValueError(f"cron jitter: {exc}") from None
            return {"cron": item["cron"], "jitter_s": jitter}
        if isinstance(item.get("event"), str) and item["event"]:
            expr = item.get("expression")
            return {
                "event": item["event"],
                "expression": _function_expr("expression", expr) if expr else None,
            }
        raise ValueError("a trigger needs `event` or `cron`")


class CancelConfig(_Model):
    event: str
    if_exp: str | None = None
    timeout_s: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _read(cls, item: Any) -> Any:
        if not isinstance(item, dict) or not isinstance(item.get("event"), str):
            raise ValueError("a cancel entry needs an `event`")
        timeout = None
        if item.get("timeout"):
            try:
                timeout = parse_duration(str(item["timeout"]))
            except ValueError as exc:
                raise ValueError(f"cancel timeout: {exc}") from None
        if_exp = _function_expr("cancel `if`", item["if"]) if item.get("if") else None
        return {"event": item["event"], "if_exp": if_exp, "timeout_s": timeout}


def _function_expr(where: str, text: Any) -> str:
    """An expression of the function itself (trigger, cancel, idempotency): a string, CEL."""
    if not isinstance(text, str):
        raise ValueError(f"{where} must be a string")
    return checked(where, text)


class FunctionConfig(_Model):
    """One function of a register body, as the engine runs it (`raw`: as registered)."""

    slug: str
    name: str
    url: str  # steps.step.runtime.url: where the engine calls it
    max_attempts: int  # steps.step.retries.attempts + 1
    flow: FlowConfig
    triggers: list[TriggerConfig]
    cancels: list[CancelConfig]
    idempotency: str | None = None
    raw: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _read(cls, raw: Any) -> Any:
        slug = raw["id"]
        known = SUPPORTED_KEYS | FLOW_KEYS
        refused = sorted(k for k, v in raw.items() if k not in known and v not in (None, [], {}, ""))
        if refused:
            verb = "is" if len(refused) == 1 else "are"
            raise ValueError(f"{', '.join(refused)} {verb} not supported by the LearnInngest engine")
        step = (raw.get("steps") or {}).get("step") or {}
        url = ((step.get("runtime") or {}).get("url")) if isinstance(step, dict) else None
        # ws(s)://connect…: a function of an app synced by a connect worker (engine/connect/).
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("steps.step.runtime.url must be an http(s) or ws(s) URL")
        flow = FlowConfig.read(raw)
        triggers = raw.get("triggers")
        if not isinstance(triggers, list) or not triggers:
            raise ValueError("needs at least one trigger")
        idempotency = raw.get("idempotency")
        return {
            "slug": slug,
            "name": str(raw.get("name") or slug),
            "url": url,
            "max_attempts": retries.max_attempts(raw),
            "flow": flow,
            "triggers": [TriggerConfig.model_validate(t) for t in triggers],
            "cancels": [CancelConfig.model_validate(c) for c in raw.get("cancel") or []],
            "idempotency": _function_expr("idempotency", idempotency) if idempotency else None,
            "raw": raw,
        }

    @classmethod
    def read(cls, raw: Any) -> FunctionConfig:
        """One function object of a register body; raises ConfigRefused naming the function."""
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
            raise ConfigRefused("a function needs a string `id`")
        try:
            return cls.model_validate(raw)
        except ValueError as exc:
            raise ConfigRefused(f"function {raw['id']}: {_refusal(exc)}") from None


# --- the register body
class RegisterBody(_Model):
    """`POST /fn/register`: the app and its functions (each read later by FunctionConfig.read)."""

    app_name: str
    url: str
    functions: list[Any]
    sdk: Any = None
    framework: Any = None

    @model_validator(mode="before")
    @classmethod
    def _read(cls, body: Any) -> Any:
        if not isinstance(body, dict):
            raise ValueError("register body must be a JSON object")
        app_name = body.get("appname") or body.get("appName")
        url = body.get("url")
        if not isinstance(app_name, str) or not app_name:
            raise ValueError("register body needs `appname` (or `appName`)")
        # ws(s)://connect…: an app synced by a connect worker (engine/connect/gateway.py).
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("register body needs the app's `url`")
        functions = body.get("functions") or []
        if not isinstance(functions, list):
            raise ValueError("`functions` must be a list")
        return {
            "app_name": app_name,
            "url": url,
            "functions": functions,
            "sdk": body.get("sdk"),
            "framework": body.get("framework"),
        }

    @classmethod
    def read(cls, body: Any) -> RegisterBody:
        try:
            return cls.model_validate(body)
        except ValueError as exc:
            raise ConfigRefused(_refusal(exc)) from None
