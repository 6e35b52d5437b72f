"""Request and response models of the public API (they are also the Swagger docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from learninngest.store.base import ChatRecord, Status


class ChatRequest(BaseModel):
    """What a client asks for. Unknown fields are refused (422) so typos do not pass silently.

    Strict types: the schema is the contract, so `clean: 0`, `clean: "yes"` or
    `max_tokens: "200"` are refused (422) rather than coerced. An integer is still a valid
    `temperature` (JSON has one number type).
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"query": "What is the capital of France?"}]},
    )

    query: str = Field(min_length=1, max_length=8000, description="The question for the model")
    temperature: float = Field(0.7, ge=0, le=2)
    max_tokens: int = Field(200, ge=1, le=4096)
    clean: bool = Field(True, description="Ask for plain text and strip markdown from the answer")


class ChatAccepted(BaseModel):
    request_id: str
    status: Status = Status.pending
    event_ids: list[str]
    result_url: str


class ChatResult(BaseModel):
    request_id: str
    status: Status
    content: str | None = None
    error: str | None = None
    model: str | None = None
    usage: dict[str, int] | None = None
    attempts: int | None = None
    created_at: datetime
    completed_at: datetime | None = None

    @classmethod
    def of(cls, record: ChatRecord) -> ChatResult:
        return cls.model_validate(record.model_dump(exclude={"query", "event_ids", "owner"}))


class ChatRuns(BaseModel):
    request_id: str
    event_ids: list[str]
    runs: list[dict[str, Any]] = Field(description="Runs as the Inngest REST API returns them")


class Problem(BaseModel):
    """Every error answer: what went wrong, and what to do about it."""

    detail: str | list[dict[str, Any]]
    request_id: str | None = None
