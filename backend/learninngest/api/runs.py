"""GET /api/v1/chat/{id}/runs: ask the Inngest REST API for the runs of the request's event."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from fastapi import APIRouter

from learninngest.api.auth import CallerDep
from learninngest.api.deps import SettingsDep, StoreDep
from learninngest.api.errors import RunsUnavailable
from learninngest.api.results import load
from learninngest.api.schemas import ChatRuns, Problem
from learninngest.config import Settings

router = APIRouter(prefix="/api/v1", tags=["chat"])
log = logging.getLogger("learninngest.api")


def rest_headers(settings: Settings) -> list[dict[str, str]]:
    """Headers to try in turn: Inngest Cloud (and a signed server) want the signing key as bearer."""
    keys = [k for k in (settings.inngest_signing_key, settings.inngest_signing_key_fallback) if k]
    return [{"Authorization": f"Bearer {key}"} for key in keys] or [{}]


async def fetch_runs(settings: Settings, event_id: str) -> list[dict[str, Any]]:
    url = f"{settings.inngest_api_url}/v1/events/{event_id}/runs"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for headers in rest_headers(settings):
                reply = await http.get(url, headers=headers)
                if reply.status_code not in (401, 403):
                    break  # during a key rotation the fallback key is tried on 401
    except httpx.HTTPError as exc:
        message = (
            f"Could not reach the Inngest REST API at {url} ({type(exc).__name__}). "
            "Check that the Inngest server is running and INNGEST_BASE_URL points at it."
        )
        log.error("runs unavailable: %s", message)
        raise RunsUnavailable(message) from exc
    if reply.status_code >= 400:
        message = f"The Inngest REST API answered {reply.status_code} for {url}: {reply.text[:200]}"
        log.error("runs unavailable: %s", message)
        raise RunsUnavailable(message)
    return list(reply.json().get("data") or [])


@router.get(
    "/chat/{request_id}/runs",
    response_model=ChatRuns,
    responses={404: {"model": Problem}, 503: {"model": Problem}},
)
async def chat_runs(request_id: str, settings: SettingsDep, store: StoreDep, caller: CallerDep) -> ChatRuns:
    """The Inngest runs started by this request's event (empty until the run is scheduled)."""
    record = await load(store, request_id, caller)
    runs: list[dict[str, Any]] = []
    for event_id in record.event_ids:
        runs.extend(await fetch_runs(settings, event_id))
    return ChatRuns(request_id=request_id, event_ids=record.event_ids, runs=runs)
