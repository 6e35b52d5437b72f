"""POST /e/{key}: the event API, as the real server answers it (`{"ids", "status"[, "error"]}`)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from learninngest.engine.ids import seeded_ids
from learninngest.engine.run.intake import EventRefused, Intake, validate_events
from learninngest.engine.settings import EngineSettings

log = logging.getLogger("learninngest.engine")


def build_router(settings: EngineSettings, intake: Intake) -> APIRouter:
    router = APIRouter()

    @router.post("/e/{key}")
    async def send_events(key: str, request: Request) -> JSONResponse:
        if settings.event_key and key != settings.event_key:
            return JSONResponse({"ids": [], "status": 401, "error": "event key not found"}, 401)
        raw = await request.body()
        seed = request.headers.get("x-inngest-event-id-seed")
        try:
            events = validate_events(raw)
        except EventRefused as exc:
            # Like the real server: the events before the bad one are kept, with their ids.
            ids = intake.ingest(exc.accepted, seeded=seeded_ids(seed, len(exc.accepted)))
            log.warning("events refused: %s (%d before it accepted)", exc, len(ids))
            # The Dev Server answers ids[0 : max+1] of a list it fills by index, so a body
            # refused at its first event answers [""] (the 413 is the engine's own: []).
            body = {
                "ids": ids or ([""] if exc.status == 400 else []),
                "status": exc.status,
                "error": str(exc),
            }
            return JSONResponse(body, exc.status)
        ids = intake.ingest(events, seeded=seeded_ids(seed, len(events)))
        return JSONResponse({"ids": ids, "status": 200})

    return router
