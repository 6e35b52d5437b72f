"""POST /fn/register: an app registers its functions (the reply is the real server's shapes)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from learninngest.engine.json_depth import loads_bounded
from learninngest.engine.settings import EngineSettings
from learninngest.engine.sync.registry import Registry
from learninngest.engine.wire import signing


def build_router(settings: EngineSettings, registry: Registry) -> APIRouter:
    router = APIRouter()

    @router.post("/fn/register")
    async def fn_register(request: Request) -> JSONResponse:
        if settings.signing_key and not signing.check_bearer(
            request.headers.get("authorization"), registry.keys()
        ):
            return JSONResponse({"error": "unauthorized: missing or wrong signing key bearer"}, 401)
        try:
            body = loads_bounded(await request.body())  # nested 100,000 deep: a 400, not a crash
        except ValueError:
            return JSONResponse({"error": "register body is not valid JSON"}, 400)
        status, reply = registry.register(
            body,
            request.headers.get("x-inngest-expected-server-kind"),
            request.query_params.get("deployId"),
        )
        return JSONResponse(reply, status)

    return router
