"""POST /v1/clock/advance: move the engine's virtual clock on (engine extra, not on the real server).

Tests and the exercises' checks use it to reach a moment (a sleep's end, a wait's timeout,
a throttle's next period) without waiting for it in real time, so that nothing they look
at depends on how fast the machine is. Body `{"seconds": <virtual seconds>}`; answers the
clock's new time. In signed mode it wants the signing key, like every /v1 route.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from learninngest.engine import signing
from learninngest.engine.apps import Registry
from learninngest.engine.clock import Clock, iso
from learninngest.engine.settings import EngineSettings

# Ten years of virtual time: far past any sleep, timeout or period a function sets, and a
# bound on what one request can do to the clock.
MAX_ADVANCE_S = 10 * 365 * 86400


class Advance(BaseModel):
    seconds: float = Field(ge=0, le=MAX_ADVANCE_S)


def build_router(
    settings: EngineSettings, registry: Registry, clock: Clock, advance: Callable[[float], float]
) -> APIRouter:
    """`advance(seconds)` moves the clock and wakes whoever waits for a due time."""
    router = APIRouter()

    @router.post("/v1/clock/advance")
    async def advance_clock(request: Request) -> JSONResponse:
        if settings.signing_key and not signing.check_bearer(
            request.headers.get("authorization"), registry.keys()
        ):
            return _problem(401, "unauthorized: send Authorization: Bearer <signing key>")
        try:
            body = Advance.model_validate_json(await request.body())
        except ValidationError:
            return _problem(
                400, f'send {{"seconds": N}}: the virtual seconds to move on, 0 to {MAX_ADVANCE_S}'
            )
        advance(body.seconds)
        return JSONResponse({"data": {"advanced_s": body.seconds, "now": iso(clock.now())}})

    return router


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status, "data": None}, status)
