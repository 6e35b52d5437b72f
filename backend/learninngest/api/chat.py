"""POST /api/v1/chat: record pending, send the event, answer 202 with Location."""

from __future__ import annotations

import logging

import inngest
from fastapi import APIRouter, Header, Response, status
from ulid import ULID

from learninngest.api.deps import InngestDep, SettingsDep, StoreDep
from learninngest.api.errors import InngestUnavailable
from learninngest.api.schemas import ChatAccepted, ChatRequest, Problem
from learninngest.events import ChatRequested, chat_event
from learninngest.logs import request_context
from learninngest.store.base import ChatRecord, Status

log = logging.getLogger("learninngest.api")
router = APIRouter(prefix="/api/v1", tags=["chat"])


def result_path(request_id: str) -> str:
    return f"/api/v1/chat/result/{request_id}"


@router.post(
    "/chat",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ChatAccepted,
    responses={503: {"model": Problem, "description": "The Inngest server is unreachable"}},
)
async def enqueue_chat(
    body: ChatRequest,
    response: Response,
    settings: SettingsDep,
    store: StoreDep,
    client: InngestDep,
    idempotency_key: str | None = Header(
        default=None,
        max_length=200,
        description="Same key within 24 h → same request_id, and no second run",
    ),
) -> ChatAccepted:
    """Accept a chat request; the answer is produced in the background by `chat_worker`."""
    request_id = str(ULID())
    if idempotency_key:
        bound = await store.claim_idempotency_key(idempotency_key, request_id, settings.idempotency_ttl_s)
        if bound != request_id:
            existing = await store.get(bound)
            if existing is not None:
                with request_context(bound):
                    log.info("idempotent replay: key already used, no new run")
                return _accepted(response, existing.request_id, existing.event_ids)
    with request_context(request_id):
        await store.create(ChatRecord(request_id=request_id, query=body.query))
        payload = ChatRequested(request_id=request_id, **body.model_dump())
        try:
            event_ids = await client.send(inngest.Event(**chat_event(payload)))
        except Exception as exc:  # the SDK raises several types; all mean "not enqueued"
            message = (
                f"Could not send the event to the Inngest server at {settings.inngest_event_url} "
                f"({type(exc).__name__}: {exc}). Start it (e.g. `learninngest engine` or "
                "`npx inngest-cli dev`) or fix INNGEST_BASE_URL / INNGEST_DEV, then retry."
            )
            await store.finish(request_id, status=Status.error, error=message)
            log.error("enqueue failed: %s", message)
            raise InngestUnavailable(message, request_id=request_id) from exc
        await store.set_event_ids(request_id, event_ids)
        log.info("request enqueued: event %s", ",".join(event_ids))
    return _accepted(response, request_id, event_ids)


def _accepted(response: Response, request_id: str, event_ids: list[str]) -> ChatAccepted:
    response.headers["Location"] = result_path(request_id)
    return ChatAccepted(request_id=request_id, event_ids=event_ids, result_url=result_path(request_id))
