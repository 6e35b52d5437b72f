"""POST /v0/gql, with graphql-core and the schema (gql.py) loaded on the first query.

Most engines never get one (the pipeline, the SDKs and the dashboard do not use it; the
notebooks' GraphQL lessons do), and the library plus the built schema cost ~5 MiB of RSS
in every engine process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response

from learninngest.engine.settings import EngineSettings
from learninngest.engine.state.db import State
from learninngest.engine.sync.registry import Registry


def build_router(settings: EngineSettings, state: State, registry: Registry) -> APIRouter:
    router = APIRouter()
    handler: Callable[[Request], Awaitable[Response]] | None = None

    @router.post("/v0/gql")
    async def gql(request: Request) -> Response:
        nonlocal handler
        if handler is None:
            from learninngest.engine.http import gql as module

            handler = module.endpoint(settings, state, registry)
        return await handler(request)

    return router
