"""POST /fn/register: an app registers its functions (the reply is the real server's shapes).

A refusal is `{"error": …, "status": N}` like the real server's public errors: the TypeScript
SDK takes the status from the body (not from the HTTP answer) and answers the sync PUT with it.
"""

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
            return refused(401, "unauthorized: missing or wrong signing key bearer")
        try:
            body = loads_bounded(await request.body())  # nested 100,000 deep: a 400, not a crash
        except ValueError:
            return refused(400, "register body is not valid JSON")
        status, reply = registry.register(
            body,
            request.headers.get("x-inngest-expected-server-kind"),
            request.query_params.get("deployId"),
        )
        if status >= 400:
            reply = reply | {"status": status}
        return JSONResponse(reply, status)

    return router


def refused(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status)
