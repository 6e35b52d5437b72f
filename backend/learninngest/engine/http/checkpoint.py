"""The checkpoint API as the Dev Server serves it (its logic: run/checkpoint.py).

- `POST /v1/checkpoint`: a durable endpoint's first checkpoint creates its run; answers
  `{"data": {"run_id", "fn_id", "app_id", "token"?, "realtime_token"}}`.
- `POST /v1/checkpoint/{run_id}/steps`: more steps of that run, or its end.
- `POST /v1/checkpoint/{run_id}/async`: steps a call of the engine ran (TypeScript SDK 4.x).
- `GET /v1/http/runs/{run_id}/output?token=…` (also under /v1/checkpoint/): a run's output
  once it ends, where a durable endpoint that went to the background redirects its caller.

`/v1/http/runs` is the real server's older prefix for the same routes. In signed mode the
POSTs need the signing key as a bearer token, like the rest of REST v1; the output needs
the run's token only.
"""

# No `from __future__ import annotations`: FastAPI reads the Depends annotations at runtime.

import asyncio
import json
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from learninngest.engine.http.problems import Problem
from learninngest.engine.run.checkpoint import CheckpointError, Checkpoints
from learninngest.engine.settings import EngineSettings
from learninngest.engine.state.db import State
from learninngest.engine.state.models import RunStatus
from learninngest.engine.sync.registry import Registry
from learninngest.engine.wire import signing

PREFIXES = ("/v1/checkpoint", "/v1/http/runs")
OUTPUT_WAIT_S = 300.0  # the real server waits up to 5 minutes for the run to end
OUTPUT_POLL_S = 0.1


def build_router(
    settings: EngineSettings, state: State, registry: Registry, checkpoints: Checkpoints
) -> APIRouter:
    async def signed_in(request: Request) -> None:
        if settings.signing_key and not signing.check_bearer(
            request.headers.get("authorization"), registry.keys()
        ):
            raise Problem(401, "unauthorized: send Authorization: Bearer <signing key>")

    async def json_body(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise Problem(400, "invalid request body: send a JSON object") from None
        if not isinstance(body, dict):
            raise Problem(400, "invalid request body: send a JSON object")
        return body

    router = APIRouter()
    api = APIRouter(dependencies=[Depends(signed_in)])

    async def new_run(request: Request) -> JSONResponse:
        body = await json_body(request)
        try:
            data = checkpoints.new_run(
                body.get("run_id", ""),
                body.get("event"),
                body.get("steps"),
                body.get("request_version"),
                body.get("retries"),
            )
        except CheckpointError as exc:
            raise Problem(exc.status, exc.message) from None
        return JSONResponse({"data": data})

    async def sync_steps(run_id: str, request: Request) -> Response:
        body = await json_body(request)
        try:
            checkpoints.sync_steps(run_id, body.get("steps"))
        except CheckpointError as exc:
            raise Problem(exc.status, exc.message) from None
        return Response(status_code=200)

    async def async_steps(run_id: str, request: Request) -> Response:
        body = await json_body(request)
        try:
            checkpoints.async_steps(
                run_id,
                body.get("fn_id"),
                body.get("steps"),
                body.get("generation_id"),
                body.get("request_started_at"),
            )
        except CheckpointError as exc:
            raise Problem(exc.status, exc.message) from None
        return Response(status_code=200)

    async def output(run_id: str, token: str | None = None) -> Response:
        if not checkpoints.token_ok(run_id, token):
            raise Problem(401, "Unable to find run with auth token")
        until = time.monotonic() + OUTPUT_WAIT_S
        while time.monotonic() < until:
            run = state.get_run(run_id)
            if run is not None and run.finished:
                return _output_response(run.output, run.status)
            await asyncio.sleep(OUTPUT_POLL_S)
        return JSONResponse({"status": "running", "message": "run did not end within 5 minutes"})

    for prefix in PREFIXES:
        api.add_api_route(prefix, new_run, methods=["POST"])
        api.add_api_route(prefix + "/{run_id}/steps", sync_steps, methods=["POST"])
        api.add_api_route(prefix + "/{run_id}/async", async_steps, methods=["POST"])
        router.add_api_route(prefix + "/{run_id}/output", output, methods=["GET"])
    router.include_router(api)
    return router


def _output_response(output: Any, status: RunStatus) -> Response:
    """The endpoint's own response when the run stored one (`{status, headers, body}`: it went
    to the background and ended there), else the run's output as JSON (500 if it failed)."""
    if isinstance(output, dict) and isinstance(output.get("status"), int) and output["status"] > 0:
        raw = output.get("headers")
        headers: dict[str, Any] = raw if isinstance(raw, dict) else {}
        body = output.get("body")
        return Response(
            content=body if isinstance(body, str) else json.dumps(body),
            status_code=output["status"],
            headers={str(k): str(v) for k, v in headers.items() if str(k).lower() != "content-length"},
        )
    return JSONResponse(output, status_code=500 if status == RunStatus.FAILED else 200)
