"""The contract between the sender (api/) and the receiver (worker/).

The event id is the request id, so Inngest de-duplicates a re-sent request.
"""

from __future__ import annotations

from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict

CHAT_REQUESTED = "app/chat.requested"
"""Event name that triggers `chat_worker`."""


class ChatRequested(BaseModel):
    """`data` of an `app/chat.requested` event."""

    model_config = ConfigDict(extra="ignore")

    request_id: str
    query: str
    temperature: float = 0.7
    max_tokens: int = 200
    clean: bool = True


class ChatEvent(TypedDict):
    """The keyword arguments of `inngest.Event` for one chat request."""

    id: str
    name: str
    data: dict[str, Any]


def chat_event(payload: ChatRequested) -> ChatEvent:
    """The event to send for one chat request: `id` = request id (Inngest de-duplicates it)."""
    return {"id": payload.request_id, "name": CHAT_REQUESTED, "data": payload.model_dump()}
