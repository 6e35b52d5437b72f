"""One async completion: a query in, a Completion (text, usage) out, or an LLMError.

This module and provider.py are the only ones that know LangChain; the worker sees
Completion and LLMError and nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import openai
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from learninngest.config import Settings
from learninngest.llm.cleaning import clean_text
from learninngest.llm.errors import LLMError, classify
from learninngest.llm.models import lend_chat_model, tls_context
from learninngest.llm.provider import base_url

__all__ = ["CLEAN_SYSTEM_PROMPT", "Completion", "LLMError", "OnToken", "complete", "tls_context"]

OnToken = Callable[[str], Awaitable[None]]
"""Called with each text delta of a streamed answer, in order, as the model sends it."""

CLEAN_SYSTEM_PROMPT = (
    "Answer concisely in plain text: no markdown, no headings, no bullet lists, "
    "no bold or italics, no code fences."
)
"""Sent when `clean` is asked for. The offline model answers in plain text only when a
system message says "plain text", so keep those words."""


@dataclass
class Completion:
    text: str
    """The answer as the caller should see it (cleaned when `clean` was asked for)."""
    raw_text: str
    """The answer exactly as the model sent it."""
    model: str
    usage: dict[str, int] = field(default_factory=dict)
    """prompt_tokens, completion_tokens, total_tokens (those the provider reported)."""
    finish_reason: str | None = None


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
    """Ask the configured provider once (no retries here: Inngest retries the step).

    `user` goes out as the OpenAI `user` field; the backend passes the request id, which
    lets a provider (and the offline model's fault directives) tell requests apart.
    With `on_token` (and LLM_STREAM on) the answer is streamed (`astream`, usage in its
    last chunk) and each delta is handed to `on_token`; the Completion is the same either way.
    """
    messages: list[BaseMessage] = [HumanMessage(query)]
    if clean:
        messages.insert(0, SystemMessage(CLEAN_SYSTEM_PROMPT))
    extra: dict[str, Any] = {"user": user} if user else {}
    # The backend's loop lends a warm model (llm/models.py); elsewhere one is made per call.
    # The TLS context is shared: building one costs ~25 ms of CPU, which would stall the loop.
    async with lend_chat_model(settings, temperature=temperature, max_tokens=max_tokens, model=model) as chat:
        try:
            if on_token is not None and settings.llm_stream:
                message = await _streamed(chat, messages, extra, on_token)
            else:
                message = await chat.ainvoke(messages, **extra)
                if on_token is not None:
                    await on_token(_text_of(message))  # not streamed: the whole text is one delta
        except openai.OpenAIError as exc:
            raise classify(exc, base_url=base_url(settings), timeout_s=settings.llm_timeout_s) from exc
    raw = _text_of(message)
    metadata = message.response_metadata or {}
    return Completion(
        text=clean_text(raw) if clean else raw,
        raw_text=raw,
        model=str(metadata.get("model_name") or chat.model_name),
        usage=usage_of(message),
        finish_reason=metadata.get("finish_reason"),
    )


async def _streamed(
    chat: ChatOpenAI, messages: list[BaseMessage], extra: dict[str, Any], on_token: OnToken
) -> BaseMessage:
    """The answer as one message, built from the chunks of `astream` (each delta passed on)."""
    chunks: list[AIMessageChunk] = []
    async for chunk in chat.astream(messages, stream_usage=True, **extra):
        delta = _text_of(chunk)
        if delta:
            await on_token(delta)
        chunks.append(chunk)
    if not chunks:
        return AIMessage("")
    # Merged once at the end: `total + chunk` per chunk built a new message each time, quadratic
    # in the answer's length (46 chunks: 0.5 ms of CPU, once: 0.05 ms).
    return chunks[0] + chunks[1:] if len(chunks) > 1 else chunks[0]


def _text_of(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    # Some providers answer with content blocks; keep their text parts in order.
    parts = [
        block if isinstance(block, str) else str(block.get("text", ""))
        for block in content
        if isinstance(block, str) or block.get("type") == "text"
    ]
    return "".join(parts)


def usage_of(message: BaseMessage) -> dict[str, int]:
    """Token counts in OpenAI's names, from LangChain's usage_metadata or the raw token_usage."""
    if isinstance(message, AIMessage) and message.usage_metadata:
        meta = message.usage_metadata
        return {
            "prompt_tokens": int(meta.get("input_tokens", 0)),
            "completion_tokens": int(meta.get("output_tokens", 0)),
            "total_tokens": int(meta.get("total_tokens", 0)),
        }
    token_usage = (message.response_metadata or {}).get("token_usage") or {}
    names = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {name: int(token_usage[name]) for name in names if token_usage.get(name) is not None}
