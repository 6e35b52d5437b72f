"""REST v1 with the real Dev Server's shapes: events, runs of an event, a run, cancel.

Engine extensions (not on the real server): GET /v1/runs/{id}/steps (the step timeline),
GET /v1/events/{id}/flow (flow-control decisions for the event),
GET /v1/apps, POST /v1/apps/sync and POST /v1/clock/advance (move the virtual clock on, for
tests and the exercises' checks). Also GET /health and GET /v0/runs/{id}/batch|actions.
"""

# No `from __future__ import annotations`: the routes' Annotated dependencies name closures
# of build_router, which FastAPI can only see in annotations evaluated where they are written.

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from learninngest.engine.clock import Clock, iso, parse_iso
from learninngest.engine.flow.control import FlowControl
from learninngest.engine.http.problems import Problem
from learninngest.engine.ids import is_ulid
from learninngest.engine.run.lifecycle import RunLifecycle
from learninngest.engine.settings import EngineSettings
from learninngest.engine.state.db import State
from learninngest.engine.state.models import Run, RunStatus, StepRow
from learninngest.engine.sync.functions import FunctionDef
from learninngest.engine.sync.registry import Registry
from learninngest.engine.wire import signing

# Ten years of virtual time: far past any sleep, timeout or period a function sets, and a
# bound on what one request can do to the clock.
MAX_ADVANCE_S = 10 * 365 * 86400


class Advance(BaseModel):
    seconds: float = Field(ge=0, le=MAX_ADVANCE_S)


def ok(data: Any, clock: Clock) -> JSONResponse:
    return JSONResponse({"data": data, "metadata": {"fetched_at": iso(clock.now())}})


def run_view(run: Run, fn: FunctionDef | None, environment_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "run_id": run.run_id,
        "run_started_at": iso(run.started),
        "function_id": fn.uuid if fn else None,
        "function_version": run.function_version,
        "environment_id": environment_id,
        "event_id": run.event_id,
        "status": run.status,
        "ended_at": iso(run.ended),
        "function_slug": run.function_slug,  # engine extra: the composite id the SDK uses
    }
    if run.cron:
        out["cron"] = run.cron
    if run.finished:
        out["output"] = run.output
    return out


def event_view(row: dict[str, Any], environment_id: str) -> dict[str, Any]:
    body = json.loads(row["body"])
    out = {
        "internal_id": row["internal_id"],
        "account_id": "00000000-0000-4000-a000-000000000000",
        "environment_id": environment_id,
        "source": row["source"],
        "source_id": None,
        "received_at": iso(row["received"]),
        "id": body.get("id"),
        "name": body.get("name"),
        "data": body.get("data"),
        "ts": body.get("ts"),
    }
    for key in ("user", "v"):
        if key in body:
            out[key] = body[key]
    return out


def step_view(row: StepRow) -> dict[str, Any]:
    return {
        "step_id": row["step_id"],
        "name": row["name"],
        "op": row["op"],
        "attempt": row["attempt"],
        "status": row["status"],
        "started_at": iso(row["started"]),
        "ended_at": iso(row["ended"]),
        "duration_ms": None if row["ended"] is None else round((row["ended"] - row["started"]) * 1000, 1),
        "scheduled_for": iso(row["scheduled_for_intended"]),
        "intended_delay_ms": row["intended_delay_ms"],
        "output": row["output"],
        "error": row["error"],
    }


def flow_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "function_slug": row["function_slug"],
        "decision": row["decision"],
        "key": row["key"],
        "run_id": row["run_id"],
        "detail": row["detail"],
        "at": iso(row["at"]),
    }


def build_router(
    settings: EngineSettings,
    state: State,
    clock: Clock,
    registry: Registry,
    runs: RunLifecycle,
    flow: FlowControl,
    advance: Callable[[float], float],
) -> APIRouter:
    """`advance(seconds)` moves the virtual clock on and wakes whoever waits for a due time."""

    async def signed_in(request: Request) -> None:
        """In signed mode every route but /health needs the signing key (as a bearer token)."""
        if settings.signing_key and not signing.check_bearer(
            request.headers.get("authorization"), registry.keys()
        ):
            raise Problem(401, "unauthorized: send Authorization: Bearer <signing key>")

    async def load_run(run_id: str) -> Run:
        if not is_ulid(run_id):
            raise Problem(400, f"invalid run id {run_id!r}: not a ULID")
        run = state.get_run(run_id)
        if run is None:
            raise Problem(404, f"run {run_id} not found")
        return run

    async def event_id_of(event_id: str) -> str:
        if not is_ulid(event_id):
            raise Problem(400, f"invalid event id {event_id!r}: not a ULID")
        return event_id

    RunDep = Annotated[Run, Depends(load_run)]
    EventId = Annotated[str, Depends(event_id_of)]

    router = APIRouter()
    api = APIRouter(dependencies=[Depends(signed_in)])

    @router.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "runs": state.count_runs()}

    @api.get("/v1/events")
    async def list_events(
        limit: int = 20,
        cursor: str | None = None,
        name: str | None = None,
        received_after: str | None = None,
        received_before: str | None = None,
    ) -> JSONResponse:
        try:
            after = parse_iso(received_after) if received_after else None
            before = parse_iso(received_before) if received_before else None
        except ValueError:
            raise Problem(400, "received_after / received_before must be RFC 3339 times") from None
        if cursor is not None and not is_ulid(cursor):
            raise Problem(400, f"invalid cursor {cursor!r}: not a ULID")
        rows = state.list_events(max(1, min(limit, 100)), cursor, name, after, before)
        return ok([event_view(r, state.environment_id) for r in rows], clock)

    @api.get("/v1/events/{event_id}")
    async def get_event(event_id: EventId) -> JSONResponse:
        row = state.get_event(event_id)
        if row is None:
            raise Problem(404, f"event {event_id} not found")
        return ok(event_view(row, state.environment_id), clock)

    @api.get("/v1/events/{event_id}/runs")
    async def event_runs(event_id: EventId) -> JSONResponse:
        # A run a singleton skipped never existed on the server (no function run row, only a
        # span): the event lists none. It stays in the dashboard and at /v1/events/{id}/flow.
        found = [r for r in state.runs_for_event(event_id) if r.status != RunStatus.SKIPPED]
        return ok([run_view(r, registry.get(r.function_slug), state.environment_id) for r in found], clock)

    @api.get("/v1/events/{event_id}/flow")
    async def event_flow(event_id: EventId) -> JSONResponse:
        """Engine extra: what flow control decided for this event (debounced, batched, dropped...)."""
        return ok([flow_view(r) for r in flow.decisions(event_id)], clock)

    @api.get("/v1/runs/{run_id}")
    async def get_run(run: RunDep) -> JSONResponse:
        return ok(run_view(run, registry.get(run.function_slug), state.environment_id), clock)

    @api.delete("/v1/runs/{run_id}")
    async def cancel_run(run: RunDep) -> Response:
        if run.finished:
            raise Problem(400, f"run {run.run_id} already ended ({run.status})")
        runs.cancel_by_id(run.run_id, "cancelled via REST API")
        return Response(status_code=200)

    @api.get("/v1/runs/{run_id}/steps")
    async def run_steps(run: RunDep) -> JSONResponse:
        return ok([step_view(s) for s in state.steps_of(run.run_id)], clock)

    @api.get("/v1/apps")
    async def list_apps() -> JSONResponse:
        apps = []
        for app in state.list_apps():
            fns = [f for f in registry.all() if f.app_id == app["app_id"]]
            apps.append(
                {
                    "app_id": app["app_id"],
                    "id": app["uuid"],
                    "url": app["url"],
                    "sdk": app["sdk"],
                    "framework": app["framework"],
                    "synced_at": iso(app["synced"]),
                    "functions": [
                        {
                            "function_id": f.uuid,
                            "slug": f.slug,
                            "name": f.name,
                            "version": f.version,
                            "config": f.config,
                        }
                        for f in fns
                    ],
                }
            )
        syncs = [r | {"at": iso(r.get("at"))} for r in registry.sync_results.values()]
        return ok({"apps": apps, "syncs": syncs}, clock)

    @api.post("/v1/apps/sync")
    async def sync_apps(request: Request, url: str | None = None) -> JSONResponse:
        if url is None and (raw := await request.body()):
            try:
                url = (json.loads(raw) or {}).get("url")
            except (ValueError, AttributeError):
                raise Problem(400, 'body must be {"url": "http://…/api/inngest"} or empty') from None
        results = await registry.sync_all([url] if url else None)
        return ok([r | {"at": iso(r.get("at"))} for r in results], clock)

    @api.get("/v0/runs/{run_id}/batch")
    async def run_batch(run: RunDep) -> JSONResponse:
        return JSONResponse(run.events)

    @api.get("/v0/runs/{run_id}/actions")
    async def run_actions(run: RunDep) -> JSONResponse:
        return JSONResponse(run.memo)

    @api.post("/v1/clock/advance")
    async def advance_clock(request: Request) -> JSONResponse:
        try:
            body = Advance.model_validate_json(await request.body())
        except ValidationError:
            raise Problem(
                400, f'send {{"seconds": N}}: the virtual seconds to move on, 0 to {MAX_ADVANCE_S}'
            ) from None
        advance(body.seconds)
        return JSONResponse({"data": {"advanced_s": body.seconds, "now": iso(clock.now())}})

    router.include_router(api)
    return router
