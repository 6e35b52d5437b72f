"""A streamed answer (`stream: true`): OpenAI's chat.completion.chunk events over SSE.

The answer's latency is spread over its tokens (a share before the first one, the rest
evenly between them), so a client sees text arrive the way a real model sends it. A
fault directive with `after=<n>` strikes mid-stream, once n tokens were sent: an error
event (as OpenAI sends one inside a stream), a hang, or a pause (slow).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from learninngest.offline_model.answers import Answer
from learninngest.offline_model.faults import Fault, fault_error_body, hang

FIRST_TOKEN_SHARE = 0.3
"""Share of the answer's latency spent before its first token (the "thinking" part)."""

# A token with the spaces before it, so the pieces join back into the exact text.
_PIECE = re.compile(r"\s*(?:\w+|[^\w\s])")


def pieces(text: str) -> list[str]:
    """`text` cut into token-sized pieces whose concatenation is `text` exactly."""
    found = _PIECE.findall(text)
    rest = text[sum(len(piece) for piece in found) :]  # trailing spaces or line breaks
    if rest:
        if found:
            found[-1] += rest
        else:
            found = [rest]
    return found


def token_delays(count: int, latency_ms: float) -> list[float]:
    """Seconds to wait before each of `count` tokens; they add up to `latency_ms`."""
    if count == 0 or latency_ms <= 0:
        return [0.0] * count
    total = latency_ms / 1000
    first = total * FIRST_TOKEN_SHARE if count > 1 else total
    rest = (total - first) / (count - 1) if count > 1 else 0.0
    return [first] + [rest] * (count - 1)


def sse(data: dict[str, Any] | str) -> bytes:
    body = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {body}\n\n".encode()


@dataclass(frozen=True)
class StreamPlan:
    """Everything one streamed answer needs, decided before the first byte is sent."""

    completion_id: str
    model: str
    created: int
    answer: Answer
    latency_ms: float
    include_usage: bool
    fault: Fault | None  # a mid-stream fault (one with after_tokens), or None
    call: int
    timeout_s: float


def _chunk(plan: StreamPlan, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": plan.completion_id,
        "object": "chat.completion.chunk",
        "created": plan.created,
        "model": plan.model,
        "system_fingerprint": "fp_learninngest_offline",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
    if plan.include_usage:
        chunk["usage"] = None  # OpenAI sends null on every chunk but the last one
    return chunk


async def stream_answer(plan: StreamPlan, client_gone: Callable[[], Awaitable[bool]]) -> AsyncIterator[bytes]:
    """The SSE body of a streamed answer, ending with `data: [DONE]` (or an error event)."""
    yield sse(_chunk(plan, {"role": "assistant", "content": ""}))
    parts = pieces(plan.answer.text)
    delays = token_delays(len(parts), plan.latency_ms)
    strike = plan.fault.after_tokens if plan.fault is not None else None
    for index, (part, delay) in enumerate(zip(parts, delays, strict=True)):
        if index == strike:
            async for event in _strike(plan, client_gone):
                yield event
            if plan.fault is not None and plan.fault.kind != "slow":
                return
        if delay > 0:
            await asyncio.sleep(delay)
        yield sse(_chunk(plan, {"content": part}))
    if strike is not None and strike >= len(parts):
        async for event in _strike(plan, client_gone):
            yield event
        if plan.fault is not None and plan.fault.kind != "slow":
            return
    yield sse(_chunk(plan, {}, plan.answer.finish_reason))
    if plan.include_usage:
        answer = plan.answer
        usage = {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.total_tokens,
        }
        yield sse({**_chunk(plan, {}), "choices": [], "usage": usage})
    yield sse("[DONE]")


async def _strike(plan: StreamPlan, client_gone: Callable[[], Awaitable[bool]]) -> AsyncIterator[bytes]:
    """The mid-stream fault: a pause (slow), a hang then an error (timeout), or an error."""
    fault = plan.fault
    assert fault is not None
    if fault.kind == "slow":
        await hang(fault.slow_ms / 1000, client_gone)
        return
    if fault.kind == "timeout" and not await hang(plan.timeout_s, client_gone):
        return  # the client left while we hung: nobody reads the rest
    yield sse({"error": fault_error_body(fault, plan.call)})
