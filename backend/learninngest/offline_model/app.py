"""The offline model's HTTP API: /v1/chat/completions and /v1/models (OpenAI-compatible).

The backend mounts this app at /offline (base URL http://host:port/offline/v1), and
`python -m learninngest.offline_model` runs it on its own. Each call of
`create_offline_model_app` builds a fresh app with its own fault counters.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from learninngest.config import OFFLINE_MODEL_NAME, Settings
from learninngest.offline_model.answers import Message, answer, latency_ms
from learninngest.offline_model.directives import DirectiveError, FaultSpec, find_directives
from learninngest.offline_model.errors import install_error_handlers, openai_error
from learninngest.offline_model.faults import (
    FaultBook,
    fault_response,
    hang,
    log_fault,
    request_key,
)
from learninngest.offline_model.schemas import ChatRequest
from learninngest.offline_model.seeding import digest, stable_int

logger = logging.getLogger("learninngest.offline_model")

# A fixed "created" for the model list: the model never changes, so neither does this.
_MODEL_CREATED = 1_735_689_600  # 2025-01-01T00:00:00Z


@dataclass
class OfflineModelConfig:
    latency_mean_ms: float = 0.0
    latency_spread_ms: float = 0.0
    seed: int = 0
    fault_rate_429: float = 0.0
    fault_rate_500: float = 0.0
    retry_after_s: float = 1.0  # Retry-After of 429s unless a directive says otherwise
    timeout_s: float = 120.0  # how long [fault:timeout] hangs: longer than client timeouts
    model_name: str = OFFLINE_MODEL_NAME

    @classmethod
    def from_settings(cls, settings: Settings) -> OfflineModelConfig:
        return cls(
            latency_mean_ms=settings.offline_latency_mean_ms,
            latency_spread_ms=settings.offline_latency_spread_ms,
            seed=settings.offline_seed,
            fault_rate_429=settings.offline_fault_rate_429,
            fault_rate_500=settings.offline_fault_rate_500,
            retry_after_s=settings.offline_retry_after_s,
            timeout_s=settings.offline_timeout_s,
        )


def _client_gone(kind: str, key: str) -> JSONResponse:
    logger.info("client left during fault %s: stopped waiting, key=%s", kind, key)
    # Nobody reads this: the client left while we waited. 499 is nginx's "client closed request".
    return openai_error(499, "The client closed the request.", code="client_closed_request")


def create_offline_model_app(config: OfflineModelConfig | None = None) -> FastAPI:
    config = config or OfflineModelConfig()
    book = FaultBook(
        seed=config.seed,
        rate_429=config.fault_rate_429,
        rate_500=config.fault_rate_500,
        retry_after_s=config.retry_after_s,
    )
    app = FastAPI(
        title="LearnInngest offline model",
        description="A deterministic OpenAI-compatible chat model with faults on demand.",
        version="1",
    )
    app.state.offline_config = config
    app.state.fault_book = book
    install_error_handlers(app)

    def model_card(model_id: str) -> dict[str, Any]:
        return {"id": model_id, "object": "model", "created": _MODEL_CREATED, "owned_by": "learninngest"}

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card(config.model_name)]}

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str) -> dict[str, Any]:
        # Any model name is accepted by /chat/completions, so any name "exists" here too.
        return model_card(model_id)

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(body: ChatRequest, request: Request) -> JSONResponse:
        if body.stream:
            return openai_error(
                400,
                "stream=true is not supported by the offline model; send stream=false "
                "(LangChain: ChatOpenAI(streaming=False), the default).",
                param="stream",
                code="unsupported_parameter",
            )
        if body.n is not None and body.n > 1:
            return openai_error(
                400,
                "The offline model returns one choice: send n=1.",
                param="n",
                code="unsupported_parameter",
            )
        messages = [Message(role=m.role, content=m.text()) for m in body.messages]
        try:
            specs: list[FaultSpec] = [
                spec for m in messages if m.role == "user" for spec in find_directives(m.content)
            ]
        except DirectiveError as exc:
            return openai_error(400, str(exc), param="messages", code="invalid_fault_directive")

        key = request_key(body.user, [m.model_dump() for m in body.messages])
        call = book.next_call(key)
        fault = book.decide(specs, key, call)
        if fault is not None:
            log_fault(fault, key, call)
            if fault.kind == "slow" and fault.slow_ms / 1000 > config.timeout_s:
                # Slower than the model's own timeout is a timeout: bounded by timeout_s.
                fault = replace(fault, kind="timeout")
            if fault.kind == "timeout":
                if not await hang(config.timeout_s, request.is_disconnected):
                    return _client_gone(fault.kind, key)
                return fault_response(fault, call)
            if fault.kind != "slow":
                return fault_response(fault, call)
            if not await hang(fault.slow_ms / 1000, request.is_disconnected):
                return _client_gone(fault.kind, key)

        # The request's own seed is mixed with the server's, so either one changes answers.
        seed = config.seed if body.seed is None else stable_int(config.seed, body.seed)
        result = answer(messages, seed=seed, temperature=body.temperature, max_tokens=body.token_limit())
        delay = latency_ms(config.latency_mean_ms, config.latency_spread_ms, seed=seed, key=key, call=call)
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        return JSONResponse(
            {
                "id": "chatcmpl-" + digest("id", key, call, seed)[:24],
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.model or config.model_name,
                "system_fingerprint": "fp_learninngest_offline",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": result.text, "refusal": None},
                        "logprobs": None,
                        "finish_reason": result.finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": result.prompt_tokens,
                    "completion_tokens": result.completion_tokens,
                    "total_tokens": result.total_tokens,
                },
            }
        )

    return app
