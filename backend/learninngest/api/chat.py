"""POST /api/v1/chat: record pending, send the event, answer 202 with Location."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import inngest
from fastapi import APIRouter, Depends, Header, Response, status
from ulid import ULID

from learninngest.api.auth import CallerDep
from learninngest.api.deps import InngestDep, SettingsDep, StoreDep
from learninngest.api.errors import IdempotencyConflict, InngestUnavailable, for_client
from learninngest.api.rate_limit import limit_pending
from learninngest.api.schemas import ChatAccepted, ChatRequest, Problem
from learninngest.config import Settings
from learninngest.events import ChatRequested, chat_event
from learninngest.logs import request_context
from learninngest.store.base import ChatRecord, ResultStore, Status

log = logging.getLogger("learninngest.api")
router = APIRouter(prefix="/api/v1", tags=["chat"])

REPLAY_WAIT_S = 5.0
"""How long a replayed Idempotency-Key waits for its first POST to finish enqueueing."""


def result_path(request_id: str) -> str:
    return f"/api/v1/chat/result/{request_id}"


@router.post(
    "/chat",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ChatAccepted,
    dependencies=[Depends(limit_pending)],
    responses={
        409: {"model": Problem, "description": "The same Idempotency-Key is still being accepted"},
        503: {"model": Problem, "description": "The Inngest server is unreachable"},
    },
)
async def enqueue_chat(
    body: ChatRequest,
    response: Response,
    settings: SettingsDep,
    store: StoreDep,
    client: InngestDep,
    caller: CallerDep,
    idempotency_key: str | None = Header(
        default=None,
        max_length=200,
        description="Same key within 24 h → same request_id, and no second run",
    ),
) -> ChatAccepted:
    """Accept a chat request; the answer is produced in the background by `chat_worker`."""
    request_id = str(ULID())
    if idempotency_key and caller.owner is not None:
        # Keys are per API key: another client's identical Idempotency-Key is another request.
        idempotency_key = f"{caller.owner}:{idempotency_key}"
    if idempotency_key:
        bound = await store.claim_idempotency_key(idempotency_key, request_id, settings.idempotency_ttl_s)
        if bound != request_id:
            return _accepted(response, await _replay(store, bound))
    with request_context(request_id):
        try:
            await store.create(ChatRecord(request_id=request_id, query=body.query, owner=caller.owner))
            event_ids = await _send(
                client, settings, store, ChatRequested(request_id=request_id, **body.model_dump())
            )
        except Exception:
            if idempotency_key:
                # Nothing was enqueued: the client's retry with the same key must be able to succeed.
                with contextlib.suppress(Exception):
                    await store.release_idempotency_key(idempotency_key, request_id)
            raise
        await store.set_event_ids(request_id, event_ids)
        log.info("request enqueued: event %s", ",".join(event_ids))
    return _accepted(response, ChatRecord(request_id=request_id, event_ids=event_ids))


async def _send(
    client: inngest.Inngest, settings: Settings, store: ResultStore, payload: ChatRequested
) -> list[str]:
    """Send the event; if it cannot be sent, record the request as `error` and answer 503."""
    try:
        return await client.send(inngest.Event(**chat_event(payload)))
    except Exception as exc:  # the SDK raises several types; all mean "not enqueued"
        message = (
            f"Could not send the event to the Inngest server at {settings.inngest_event_url} "
            f"({type(exc).__name__}: {exc}). Start it (e.g. `learninngest engine` or "
            "`npx inngest-cli dev`) or fix INNGEST_BASE_URL / INNGEST_DEV, then retry."
        )
        shown = for_client(settings, message, InngestUnavailable.generic)  # the record is public too
        await store.finish(payload.request_id, status=Status.error, error=shown)
        log.error("enqueue failed: %s", message)
        raise InngestUnavailable(message, request_id=payload.request_id) from exc


async def _replay(store: ResultStore, request_id: str) -> ChatRecord:
    """The request an Idempotency-Key is bound to, once its first POST has enqueued it.

    A concurrent first POST may still be sending its event: wait for it briefly, so
    the replay answers exactly what the first one did.
    """
    deadline = time.monotonic() + REPLAY_WAIT_S
    while True:
        record = await store.get(request_id)
        if record is not None and (record.event_ids or record.final):
            break
        if time.monotonic() > deadline:
            raise IdempotencyConflict(
                "A request with this Idempotency-Key is still being accepted; retry in a moment."
            )
        await asyncio.sleep(0.05)
    with request_context(request_id):
        if record.status is Status.error and not record.event_ids:
            # The first POST failed to enqueue: give the same answer.
            raise InngestUnavailable(record.error or "The request was not enqueued.", request_id=request_id)
        log.info("idempotent replay: key already used, no new run")
    return record


def _accepted(response: Response, record: ChatRecord) -> ChatAccepted:
    response.headers["Location"] = result_path(record.request_id)
    return ChatAccepted(
        request_id=record.request_id,
        status=record.status,  # a replay of a finished request says so
        event_ids=record.event_ids,
        result_url=result_path(record.request_id),
    )
