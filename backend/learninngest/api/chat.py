"""POST /api/v1/chat: record pending, send the event, answer 202 with Location."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

import inngest
from fastapi import APIRouter, Header, Response, status
from ulid import ULID

from learninngest.api.auth import Caller, CallerDep
from learninngest.api.deps import InngestDep, SettingsDep, StoreDep
from learninngest.api.errors import IdempotencyConflict, InngestUnavailable, SendUnconfirmed, for_client
from learninngest.api.rate_limit import max_pending, too_many_pending
from learninngest.api.schemas import ChatAccepted, ChatRequest, Problem
from learninngest.api.sync_gate import SyncedDep
from learninngest.config import Settings
from learninngest.events import ChatRequested, chat_event
from learninngest.logs import request_context
from learninngest.store.base import ChatRecord, ResultStore, Status

log = logging.getLogger("learninngest.api")
router = APIRouter(prefix="/api/v1", tags=["chat"])

REPLAY_WAIT_S = 5.0
"""How long a replayed Idempotency-Key waits for its first POST to finish enqueueing."""
TAKEOVER_MARGIN_S = 1.0
"""A keyed request still unsent this long after its send deadline was abandoned by its POST."""


def result_path(request_id: str) -> str:
    return f"/api/v1/chat/result/{request_id}"


@router.post(
    "/chat",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ChatAccepted,
    dependencies=[SyncedDep],
    responses={
        409: {"model": Problem, "description": "The same Idempotency-Key is still being accepted"},
        503: {
            "model": Problem,
            "description": "The Inngest server is unreachable or slow, or the app is not yet synced",
        },
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
            record = await _replay(store, settings, bound)
            if record is None:  # its first POST died before sending: this one sends it
                with request_context(bound):
                    log.warning("idempotent replay: the first POST never sent its event; sending it now")
                record = await _enqueue(client, settings, store, bound, body, idempotency_key, caller)
            return _accepted(response, record)
    record = await _enqueue(client, settings, store, request_id, body, idempotency_key, caller)
    return _accepted(response, record)


async def _enqueue(
    client: inngest.Inngest,
    settings: Settings,
    store: ResultStore,
    request_id: str,
    body: ChatRequest,
    idempotency_key: str | None,
    caller: Caller,
) -> ChatRecord:
    """Record the request as pending (unless it is already) and send its event (id = request id).

    Recording it also takes one of its key's RATE_LIMIT_MAX_PENDING slots, atomically (429
    when none is free, before anything is sent); finishing the record frees it.
    """
    with request_context(request_id):
        try:
            record = ChatRecord(request_id=request_id, query=body.query, owner=caller.owner)
            most = max_pending(settings, caller)
            if not await store.create(record, max_pending=most):
                raise too_many_pending(caller.owner or "", most)
            event_ids = await _send(
                client, settings, store, ChatRequested(request_id=request_id, **body.model_dump())
            )
        except SendUnconfirmed:
            raise  # the event may still arrive and run: the key stays bound to this request
        except Exception:
            if idempotency_key:
                # Nothing was enqueued: the client's retry with the same key must be able to succeed.
                with contextlib.suppress(Exception):
                    await store.release_idempotency_key(idempotency_key, request_id)
            raise
        try:
            await store.add_event_ids(request_id, event_ids)
        except Exception as exc:
            # The event is sent and will run: answering an error now would tell the client it
            # was not. The record lacks only the ids; the reconciler looks them up by request id.
            log.error(
                "request enqueued, but its event ids were not recorded (%s: %s)", type(exc).__name__, exc
            )
        log.info("request enqueued: event %s", ",".join(event_ids))
    return ChatRecord(request_id=request_id, event_ids=event_ids)


async def _send(
    client: inngest.Inngest, settings: Settings, store: ResultStore, payload: ChatRequested
) -> list[str]:
    """Send the event within EVENT_SEND_TIMEOUT_S.

    Refused or unreachable: the request is recorded as `error` (503). No answer in time:
    the event may still arrive (a frozen server reads it later), so the request stays
    `pending` for its run to finish, or for the reconciler to end it if it never arrives.
    """
    timeout = settings.event_send_timeout_s
    try:
        async with asyncio.timeout(timeout):
            return await client.send(inngest.Event(**chat_event(payload)))
    except TimeoutError as exc:
        message = (
            f"The Inngest server at {settings.inngest_event_url} did not confirm the event within "
            f"{timeout:g} s (EVENT_SEND_TIMEOUT_S). The request stays pending: it runs if the event "
            "arrived, else it ends as error within RECONCILE_AFTER_S + RECONCILE_INTERVAL_S. Read its "
            "result, or retry with the same Idempotency-Key (no second run)."
        )
        log.error("enqueue unconfirmed: no answer from the Inngest server within %g s", timeout)
        raise SendUnconfirmed(message, request_id=payload.request_id) from exc
    except asyncio.CancelledError as exc:
        # The server is stopping and its graceful-shutdown deadline cancelled this request in
        # the middle of the send: as on our own deadline, the event may have arrived, so the
        # request stays pending and the client gets a 503 it can act on, not a 500.
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        message = (
            "The backend stopped while sending the event to the Inngest server. The request stays "
            "pending: it runs if the event arrived, else it ends as error within RECONCILE_AFTER_S + "
            "RECONCILE_INTERVAL_S. Read its result, or retry with the same Idempotency-Key (no second run)."
        )
        log.error("enqueue unconfirmed: the backend stopped during the send")
        raise SendUnconfirmed(message, request_id=payload.request_id) from exc
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


def _abandoned(record: ChatRecord | None, settings: Settings, waited: bool) -> bool:
    """Whether the first POST of a key is gone without sending its event (killed, crashed).

    No record yet: its POST creates one within milliseconds, so after the replay's wait it
    is gone. Pending without events: its send gives up after EVENT_SEND_TIMEOUT_S.
    """
    if record is None:
        return waited
    if record.final or record.event_ids:
        return False
    age = (datetime.now(UTC) - record.created_at).total_seconds()
    return age > settings.event_send_timeout_s + TAKEOVER_MARGIN_S


async def _replay(store: ResultStore, settings: Settings, request_id: str) -> ChatRecord | None:
    """The request an Idempotency-Key is bound to, once its first POST has enqueued it.

    A concurrent first POST may still be sending its event: wait for it briefly, so
    the replay answers exactly what the first one did. None: that POST is gone without
    sending, and the caller sends the event (same id, so Inngest runs it at most once).
    """
    deadline = time.monotonic() + REPLAY_WAIT_S
    while True:
        record = await store.get(request_id)
        if record is not None and (record.event_ids or record.final):
            break
        if _abandoned(record, settings, waited=time.monotonic() > deadline):
            return None
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
