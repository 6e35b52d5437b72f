"""The request body of /v1/chat/completions, as OpenAI clients send it.

Unknown fields are accepted and ignored: clients send many optional ones (tools,
stream_options, logprobs...) and a strict model would break them for no benefit.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Role
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text; for content parts, the "text" parts joined by newlines."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        texts = [str(p.get("text", "")) for p in self.content if p.get("type") == "text"]
        return "\n".join(texts)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    seed: int | None = None
    user: str | None = None
    stream: bool | None = False
    n: int | None = Field(None, ge=1)

    def include_usage(self) -> bool:
        """`stream_options.include_usage`: a last chunk carries the usage (LangChain asks for it)."""
        options = getattr(self, "stream_options", None)
        return isinstance(options, dict) and bool(options.get("include_usage"))

    def token_limit(self) -> int | None:
        """The smaller of max_tokens and max_completion_tokens (newer clients send the latter)."""
        limits = [x for x in (self.max_tokens, self.max_completion_tokens) if x is not None]
        return min(limits) if limits else None
