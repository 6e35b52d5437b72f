"""GET /api/v1/chat/result/{id}[?wait=]: read the store, long-poll up to `wait` seconds.

The long-poll answers at its deadline at the latest, even when a store read is slow. It
reads the store once, then once per wake-up (api/waiters.py says who wakes it). A long-poll
that waited for the result says in `Server-Timing` how long after the store write it was
woken and answered (`wake`, `answer`, ms), so a client or bench can see the wake-up itself.
"""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import APIRouter, HTTPException, Query, Request, Response

from learninngest.api.auth import Caller, CallerDep
from learninngest.api.deps import SettingsDep, StoreDep, WaitersDep
from learninngest.api.errors import NotFound, for_client
from learninngest.api.schemas import ChatResult, Problem
from learninngest.api.waiters import TooManyWaiters
from learninngest.store.base import ChatRecord, ResultStore

router = APIRouter(prefix="/api/v1", tags=["chat"])
log = logging.getLogger("learninngest.api")

RETRY_AFTER_S = 1
"""What a client refused for too many long-polls is told to wait before asking again."""

WAITERS_GENERIC = f"This server is busy. Retry after {RETRY_AFTER_S} s, or poll without ?wait."


async def load(store: ResultStore, request_id: str, caller: Caller) -> ChatRecord:
    """The record, if `caller` may see it: another key's request is "not found" (404, not 403),
    so an id tells nothing about whether it exists."""
    record = await store.get(request_id)
    if record is None or not caller.may_read(record.owner):
        raise NotFound(
            f"No chat request with id '{request_id}'. Use the request_id returned by POST /api/v1/chat."
        )
    return record


def wake_timing(stored: float, woken: float) -> str:
    """`Server-Timing` of a long-poll woken by its result: ms from the store write to the
    wake-up, and to now (the answer); clocks of one host (the writer may be another process)."""
    return f"wake;dur={(woken - stored) * 1000:.2f}, answer;dur={(time.time() - stored) * 1000:.2f}"


@router.get(
    "/chat/result/{request_id}",
    response_model=ChatResult,
    response_model_exclude_none=True,
    responses={
        404: {"model": Problem},
        503: {"model": Problem, "description": "Too many long-polls wait in this process; see Retry-After"},
    },
)
async def chat_result(
    request_id: str,
    request: Request,
    response: Response,
    store: StoreDep,
    waiters: WaitersDep,
    settings: SettingsDep,
    caller: CallerDep,
    wait: float = Query(
        0, ge=0, le=30, description="Long-poll: answer when final, or after this many seconds"
    ),
) -> ChatResult:
    """The request's status and, once final, its content or error."""
    if wait <= 0:
        return ChatResult.of(await load(store, request_id, caller))
    deadline = asyncio.get_running_loop().time() + wait
    try:
        # Registered before the first read, so a finish between that read and the wait wakes it.
        async with waiters.watch(request_id) as waiter:
            record = await load(store, request_id, caller)
            if record.final:
                return ChatResult.of(record)
            # A client that has left frees its slot now, not at the deadline.
            listening = waiter.wake_when_gone(request.receive)
            try:
                async with asyncio.timeout_at(deadline):
                    while not record.final:
                        await waiter.wait()
                        if waiter.client_gone:
                            log.debug("long-poll of %s ended: its client left", request_id)
                            break  # nobody reads the answer; uvicorn drops it
                        woken = time.time()
                        record = await load(store, request_id, caller)
                        if record.final and record.completed_at is not None:
                            response.headers["Server-Timing"] = wake_timing(
                                record.completed_at.timestamp(), woken
                            )
            except TimeoutError:
                pass  # the deadline: answer with what was last read
            finally:
                listening.cancel()
    except TooManyWaiters:
        record = await load(store, request_id, caller)
        if not record.final:
            # The setting's name and value are for the operator (log), not an outside client.
            detail = (
                f"Too many long-polls are waiting on this server (LONG_POLL_MAX_WAITERS="
                f"{settings.long_poll_max_waiters}). Retry after {RETRY_AFTER_S} s, or poll "
                "without ?wait."
            )
            log.warning("long-poll of %s refused: %s", request_id, detail, extra={"request_id": request_id})
            raise HTTPException(
                status_code=503,
                detail=for_client(settings, detail, WAITERS_GENERIC),
                headers={"Retry-After": str(RETRY_AFTER_S)},
            ) from None
    return ChatResult.of(record)
