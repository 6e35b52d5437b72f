"""GET /api/v1/chat/result/{id}[?wait=]: read the store, long-poll up to `wait` seconds."""

from __future__ import annotations

import time

from fastapi import APIRouter, Query

from learninngest.api.deps import StoreDep, WaitersDep
from learninngest.api.errors import NotFound
from learninngest.api.schemas import ChatResult, Problem
from learninngest.store.base import ChatRecord, ResultStore

router = APIRouter(prefix="/api/v1", tags=["chat"])

# A result written by another process (shared Redis) wakes no local waiter: re-read this often.
REREAD_EVERY_S = 0.25


async def load(store: ResultStore, request_id: str) -> ChatRecord:
    record = await store.get(request_id)
    if record is None:
        raise NotFound(
            f"No chat request with id '{request_id}'. Use the request_id returned by POST /api/v1/chat."
        )
    return record


@router.get(
    "/chat/result/{request_id}",
    response_model=ChatResult,
    response_model_exclude_none=True,
    responses={404: {"model": Problem}},
)
async def chat_result(
    request_id: str,
    store: StoreDep,
    waiters: WaitersDep,
    wait: float = Query(
        0, ge=0, le=30, description="Long-poll: answer when final, or after this many seconds"
    ),
) -> ChatResult:
    """The request's status and, once final, its content or error."""
    record = await load(store, request_id)
    deadline = time.monotonic() + wait
    while not record.final:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        await waiters.wait(request_id, min(remaining, REREAD_EVERY_S))
        record = await load(store, request_id)
    return ChatResult.of(record)
