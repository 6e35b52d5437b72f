"""POST /e/{key}: the event API, as the real server answers it (`{"ids", "status"[, "error"]}`).

`EventApi` does the route's work; the FastAPI route below (kept for the app's route list)
and the fast path in front of the router (fast_events.py) both answer through it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from learninngest.engine.ids import seeded_ids
from learninngest.engine.run.intake import EventRefused, Intake, validate_events
from learninngest.engine.settings import EngineSettings

log = logging.getLogger("learninngest.engine")

SEED_HEADER = "x-inngest-event-id-seed"


class EventApi:
    def __init__(self, settings: EngineSettings, intake: Intake) -> None:
        self.settings = settings
        self.intake = intake

    def accepts(self, key: str) -> bool:
        """The key is this engine's (or it takes any): only then is the body worth reading."""
        return not self.settings.event_key or key == self.settings.event_key

    def answer(self, key: str, raw: bytes, seed: str | None) -> tuple[int, dict[str, Any]]:
        """(status, body) for a send of `raw` with `key` and the SDK's id seed header."""
        if not self.accepts(key):
            return 401, {"ids": [], "status": 401, "error": "event key not found"}
        try:
            events = validate_events(raw)
        except EventRefused as exc:
            # Like the real server: the events before the bad one are kept, with their ids.
            ids = self.intake.ingest(exc.accepted, seeded=seeded_ids(seed, len(exc.accepted)))
            log.warning("events refused: %s (%d before it accepted)", exc, len(ids))
            # The Dev Server answers ids[0 : max+1] of a list it fills by index, so a body
            # refused at its first event answers [""] (the 413 is the engine's own: []).
            body = {
                "ids": ids or ([""] if exc.status == 400 else []),
                "status": exc.status,
                "error": str(exc),
            }
            return exc.status, body
        ids = self.intake.ingest(events, seeded=seeded_ids(seed, len(events)))
        return 200, {"ids": ids, "status": 200}

    async def reply(self, key: str, request: Request) -> JSONResponse:
        """The answer to `request`, a send to /e/`key` (its body read only for a good key)."""
        raw = await request.body() if self.accepts(key) else b""
        status, body = self.answer(key, raw, request.headers.get(SEED_HEADER))
        return JSONResponse(body, status)


def build_router(api: EventApi) -> APIRouter:
    router = APIRouter()

    @router.post("/e/{key}")
    async def send_events(key: str, request: Request) -> JSONResponse:
        return await api.reply(key, request)

    return router
