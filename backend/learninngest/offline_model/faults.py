"""Failures on demand: 429 with Retry-After, 5xx, 400/401, slowness and hangs.

A fault comes from a directive in a user message (see directives.py) or, when the
directives have none for this call, from the settings' rates. Calls are counted per
request key: the OpenAI `user` field when sent (the backend sends its request id), else
a hash of the messages. So a retried request sees call 0, 1, 2... and "429x2" means the
first two calls fail and the third succeeds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

from learninngest.offline_model.directives import FaultSpec, schedule_fault
from learninngest.offline_model.errors import openai_error
from learninngest.offline_model.seeding import digest, unit

logger = logging.getLogger("learninngest.offline_model")

# kind -> (status, OpenAI error type, code, message)
_ERRORS: dict[str, tuple[int, str, str, str]] = {
    "429": (429, "rate_limit_error", "rate_limit_exceeded", "Rate limit reached"),
    "500": (500, "server_error", "internal_error", "The server had an error"),
    "502": (502, "server_error", "bad_gateway", "Bad gateway: the upstream model failed"),
    "503": (503, "server_error", "service_unavailable", "The model is overloaded"),
    "400": (400, "invalid_request_error", "simulated_bad_request", "Bad request"),
    "401": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided"),
    "timeout": (504, "server_error", "timeout", "The model did not answer in time"),
}
_MAX_KEYS = 10_000  # the counters forget the oldest requests, so memory stays bounded


@dataclass(frozen=True)
class Fault:
    kind: str  # "429", "500", ..., "timeout", "slow"
    source: str  # "directive" or "rate"
    retry_after_s: float | None = None
    slow_ms: int = 0
    after_tokens: int | None = None  # streaming only: strike after this many tokens


def request_key(user: str | None, messages: Sequence[dict[str, Any]]) -> str:
    """The key calls are counted under: `user` when sent, else the messages' hash."""
    if user:
        return f"user:{user}"
    return "messages:" + digest(json.dumps(list(messages), sort_keys=True, default=str))[:32]


class FaultBook:
    """Per-app call counters and the decision of each call's fault; one per app instance."""

    def __init__(self, *, seed: int, rate_429: float, rate_500: float, retry_after_s: float):
        self.seed = seed
        self.rate_429 = rate_429
        self.rate_500 = rate_500
        self.retry_after_s = retry_after_s
        self._calls: OrderedDict[str, int] = OrderedDict()

    def next_call(self, key: str) -> int:
        """This call's number for `key`, from 0. No await inside, so no lock is needed."""
        call = self._calls.pop(key, -1) + 1
        self._calls[key] = call
        while len(self._calls) > _MAX_KEYS:
            self._calls.popitem(last=False)
        return call

    def decide(self, specs: Sequence[FaultSpec], key: str, call: int) -> Fault | None:
        spec = schedule_fault(list(specs), call)
        if spec is not None:
            retry_after = spec.retry_after_s
            if spec.kind == "429" and retry_after is None:
                retry_after = self.retry_after_s
            return Fault(spec.kind, "directive", retry_after, spec.slow_ms, spec.after_tokens)
        # Seeded coin: the same seed, key and call number always give the same outcome.
        coin = unit("fault-rate", self.seed, key, call)
        if coin < self.rate_429:
            return Fault("429", "rate", self.retry_after_s)
        if coin < self.rate_429 + self.rate_500:
            return Fault("500", "rate")
        return None


def log_fault(fault: Fault, key: str, call: int) -> None:
    detail = f" slow_ms={fault.slow_ms}" if fault.kind == "slow" else ""
    logger.info(
        "fault injected: kind=%s source=%s key=%s call=%d%s",
        fault.kind,
        fault.source,
        key,
        call + 1,
        detail,
    )


def fault_response(fault: Fault, call: int) -> JSONResponse:
    """The error response for an error fault (not for "slow")."""
    status, type_, code, _text = _ERRORS[fault.kind]
    headers: dict[str, str] = {}
    if fault.retry_after_s is not None:
        # Retry-After takes whole seconds; OpenAI also sends retry-after-ms for precision.
        headers["Retry-After"] = str(math.ceil(fault.retry_after_s))
        headers["retry-after-ms"] = str(round(fault.retry_after_s * 1000))
    return openai_error(status, fault_message(fault, call), type_=type_, code=code, headers=headers)


def fault_message(fault: Fault, call: int) -> str:
    text = _ERRORS[fault.kind][3]
    message = f"{text} (simulated by the offline model: fault {fault.kind}, call {call + 1})."
    if fault.retry_after_s is not None:
        message += f" Retry after {fault.retry_after_s:g} s."
    return message


def fault_error_body(fault: Fault, call: int) -> dict[str, Any]:
    """The `{"error": ...}` object of an error fault, as sent inside a stream."""
    _status, type_, code, _text = _ERRORS[fault.kind]
    return {"message": fault_message(fault, call), "type": type_, "param": None, "code": code}


async def hang(seconds: float, client_gone: Callable[[], Awaitable[bool]]) -> bool:
    """Sleep up to `seconds`, in short slices; return False as soon as the client is gone.

    The slices make the hang end when the client gives up (its timeout), so a hung
    handler does not outlive it; uvicorn's shutdown cancels the sleep when the server stops.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        await asyncio.sleep(min(0.05, left))
        if await client_gone():
            return False
    return True
