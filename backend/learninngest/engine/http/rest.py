"""REST v1 with the real Dev Server's shapes: events, runs of an event, a run, cancel.

Engine extensions (not on the real server): GET /v1/runs/{id}/steps (the step timeline),
GET /v1/events/{id}/flow (flow-control decisions for the event),
GET /v1/apps and POST /v1/apps/sync. Also GET /health and GET /v0/runs/{id}/batch|actions.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from learninngest.engine.clock import Clock, iso, parse_iso
from learninngest.engine.flow.control import FlowControl
from learninngest.engine.ids import is_ulid
from learninngest.engine.run.lifecycle import RunLifecycle
from learninngest.engine.settings import EngineSettings
from learninngest.engine.state.db import Run, State
from learninngest.engine.sync.functions import FunctionDef
from learninngest.engine.sync.registry import Registry
from learninngest.engine.wire import signing


def ok(data: Any, clock: Clock) -> JSONResponse:
    return JSONResponse({"data": data, "metadata": {"fetched_at": iso(clock.now())}})


def problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status, "data": None}, status)


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


def step_view(row: dict[str, Any]) -> dict[str, Any]:
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
) -> APIRouter:
    router = APIRouter()

    def denied(request: Request) -> JSONResponse | None:
        if settings.signing_key and not signing.check_bearer(
            request.headers.get("authorization"), registry.keys()
        ):
            return problem(401, "unauthorized: send Authorization: Bearer <signing key>")
        return None

    def load_run(run_id: str) -> Run | JSONResponse:
        if not is_ulid(run_id):
            return problem(400, f"invalid run id {run_id!r}: not a ULID")
        run = state.get_run(run_id)
        return run if run is not None else problem(404, f"run {run_id} not found")

    @router.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "runs": state.count_runs()}

    @router.get("/v1/events")
    async def list_events(
        request: Request,
        limit: int = 20,
        cursor: str | None = None,
        name: str | None = None,
        received_after: str | None = None,
        received_before: str | None = None,
    ) -> JSONResponse:
        if (no := denied(request)) is not None:
            return no
        try:
            after = parse_iso(received_after) if received_after else None
            before = parse_iso(received_before) if received_before else None
        except ValueError:
            return problem(400, "received_after / received_before must be RFC 3339 times")
        if cursor is not None and not is_ulid(cursor):
            return problem(400, f"invalid cursor {cursor!r}: not a ULID")
        rows = state.list_events(max(1, min(limit, 100)), cursor, name, after, before)
        return ok([event_view(r, state.environment_id) for r in rows], clock)

    @router.get("/v1/events/{event_id}")
    async def get_event(event_id: str, request: Request) -> JSONResponse:
        if (no := denied(request)) is not None:
            return no
        if not is_ulid(event_id):
            return problem(400, f"invalid event id {event_id!r}: not a ULID")
        row = state.get_event(event_id)
        if row is None:
            return problem(404, f"event {event_id} not found")
        return ok(event_view(row, state.environment_id), clock)

    @router.get("/v1/events/{event_id}/runs")
    async def event_runs(event_id: str, request: Request) -> JSONResponse:
        if (no := denied(request)) is not None:
            return no
        if not is_ulid(event_id):
            return problem(400, f"invalid event id {event_id!r}: not a ULID")
        runs = state.runs_for_event(event_id)
        return ok([run_view(r, registry.get(r.function_slug), state.environment_id) for r in runs], clock)

    @router.get("/v1/events/{event_id}/flow")
    async def event_flow(event_id: str, request: Request) -> JSONResponse:
        """Engine extra: what flow control decided for this event (debounced, batched, dropped...)."""
        if (no := denied(request)) is not None:
            return no
        if not is_ulid(event_id):
            return problem(400, f"invalid event id {event_id!r}: not a ULID")
        rows = flow.decisions(event_id)
        return ok([flow_view(r) for r in rows], clock)

    @router.get("/v1/runs/{run_id}")
    async def get_run(run_id: str, request: Request) -> JSONResponse:
        if (no := denied(request)) is not None:
            return no
        run = load_run(run_id)
        if isinstance(run, JSONResponse):
            return run
        return ok(run_view(run, registry.get(run.function_slug), state.environment_id), clock)

    @router.delete("/v1/runs/{run_id}")
    async def cancel_run(run_id: str, request: Request) -> Response:
        if (no := denied(request)) is not None:
            return no
        run = load_run(run_id)
        if isinstance(run, JSONResponse):
            return run
        if run.finished:
            return problem(400, f"run {run_id} already ended ({run.status})")
        runs.cancel_by_id(run_id, "cancelled via REST API")
        return Response(status_code=200)

    @router.get("/v1/runs/{run_id}/steps")
    async def run_steps(run_id: str, request: Request) -> JSONResponse:
        if (no := denied(request)) is not None:
            return no
        run = load_run(run_id)
        if isinstance(run, JSONResponse):
            return run
        return ok([step_view(s) for s in state.steps_of(run_id)], clock)

    @router.get("/v1/apps")
    async def list_apps(request: Request) -> JSONResponse:
        if (no := denied(request)) is not None:
            return no
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

    @router.post("/v1/apps/sync")
    async def sync_apps(request: Request, url: str | None = None) -> JSONResponse:
        if (no := denied(request)) is not None:
            return no
        if url is None and (raw := await request.body()):
            try:
                url = (json.loads(raw) or {}).get("url")
            except (ValueError, AttributeError):
                return problem(400, 'body must be {"url": "http://…/api/inngest"} or empty')
        results = await registry.sync_all([url] if url else None)
        return ok([r | {"at": iso(r.get("at"))} for r in results], clock)

    @router.get("/v0/runs/{run_id}/batch")
    async def run_batch(run_id: str, request: Request) -> JSONResponse:
        if (no := denied(request)) is not None:
            return no
        run = load_run(run_id)
        return run if isinstance(run, JSONResponse) else JSONResponse(run.events)

    @router.get("/v0/runs/{run_id}/actions")
    async def run_actions(run_id: str, request: Request) -> JSONResponse:
        if (no := denied(request)) is not None:
            return no
        run = load_run(run_id)
        return run if isinstance(run, JSONResponse) else JSONResponse(run.memo)

    return router
