"""A few server-rendered HTML pages over the state: runs, events, apps, one run's timeline.

Plain HTML and CSS (templates/, Jinja2), no JavaScript; the re-sync button is a form POST.
The home page lists runs first (newest on top, with the chat request id), then events, each
linked to the runs it started; a failed run links to its failure handler's run. Errors show
their message and a folded, readable stack trace. Pages refresh every few seconds with a
meta tag (a run's page only while the run is active). Every URL is relative (pages.py). In
signed mode every page and POST needs the signing key (`dashboard_auth`), and re-sync only
reaches the engine's `-u` URLs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from learninngest.engine.flow.control import FlowControl
from learninngest.engine.http import pages
from learninngest.engine.http.dashboard_auth import HOME, DashboardAuth
from learninngest.engine.http.dashboard_auth import build_router as build_login_router
from learninngest.engine.ids import is_ulid
from learninngest.engine.internal_events import CANCELLED, FAILED
from learninngest.engine.settings import EngineSettings
from learninngest.engine.state.db import State
from learninngest.engine.state.models import Run, RunStatus, StepStatus
from learninngest.engine.sync.registry import Registry

HANDLER_EVENTS = (FAILED, CANCELLED)
"""Events whose runs handle another run's end: their data.run_id is that run."""
SCANNED_RUNS = 500
"""How many recent runs are searched for a failed run's handler (a dashboard, not an index)."""


def request_id_of(run: Run) -> str:
    """The chat request a run works for (a handler's run: the one of the run it handles)."""
    data = (run.event or {}).get("data") or {}
    if run.event.get("name") in HANDLER_EVENTS:
        data = ((data.get("event") or {}).get("data")) or {}
    return str(data.get("request_id") or "")


def _handlers(runs: list[Run]) -> dict[str, list[Run]]:
    """Run id -> the runs that handled its failure or cancellation."""
    found: dict[str, list[Run]] = {}
    for run in runs:
        if run.event.get("name") in HANDLER_EVENTS:
            handled = str((run.event.get("data") or {}).get("run_id") or "")
            found.setdefault(handled, []).append(run)
    return found


def _ms(start: float | None, end: float | None) -> str:
    return "" if start is None or end is None else f"{(end - start) * 1000:.0f} ms"


def build_router(
    settings: EngineSettings, state: State, registry: Registry, flow: FlowControl, auth: DashboardAuth
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    router.include_router(build_login_router(auth))
    guarded = APIRouter(include_in_schema=False, dependencies=[Depends(auth.guard)])

    @guarded.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        recent = state.list_runs(limit=SCANNED_RUNS)
        handlers = _handlers(recent)
        runs: list[dict[str, Any]] = []
        for run in recent[:50]:  # newest first (run ids are ULIDs: they sort by time)
            steps = state.steps_of(run.run_id)
            runs.append(
                {
                    "run": run,
                    "request_id": request_id_of(run),
                    "handlers": handlers.get(run.run_id, []),
                    "calls": len(steps),
                    "retries": sum(1 for s in steps if s["status"] == StepStatus.RETRYING),
                    "took": _ms(run.started, run.ended),
                }
            )
        events = [
            {
                "row": e,
                "runs": state.runs_for_event(e["internal_id"]),
                "decisions": flow.decisions(e["internal_id"]),
            }
            for e in state.list_events(limit=20)
        ]
        apps = [
            {"app": a, "functions": [f.slug for f in registry.all() if f.app_id == a["app_id"]]}
            for a in state.list_apps()
        ]
        syncs = list(registry.sync_results.values())
        return pages.render(
            request,
            "home.html",
            title="LearnInngest engine",
            refresh=True,
            settings=settings,
            runs=runs,
            events=events,
            apps=apps,
            syncs=syncs,
        )

    @guarded.post("/dashboard/sync")
    async def resync(request: Request) -> Response:
        # Parsed by hand: FastAPI's Form() would need python-multipart just for one button.
        url = parse_qs((await request.body()).decode()).get("url", [""])[0]
        if url and settings.signed and not registry.is_configured(url):
            # The engine would send a *signed* request to whatever URL was typed in.
            known = ", ".join(settings.app_urls) or "none"
            return pages.message(
                request,
                "re-sync refused",
                # Markup: the sentence as written; format() escapes what was typed in.
                Markup("Re-sync refused: {} is not one of this engine's app URLs (-u: {}).").format(
                    url, known
                ),
                400,
            )
        await registry.sync_all([url] if url else None)
        return RedirectResponse(HOME, status_code=303)

    @guarded.get("/runs/{run_id}", response_class=HTMLResponse)
    async def run_page(run_id: str, request: Request) -> Response:
        run = state.get_run(run_id) if is_ulid(run_id) else None
        if run is None:
            return pages.message(request, "run not found", f"No run {run_id}.", 200)
        handles = ""
        if run.event.get("name") in HANDLER_EVENTS:
            handles = str((run.event.get("data") or {}).get("run_id") or "")
        steps = [{"row": s, "took": _ms(s["started"], s["ended"])} for s in state.steps_of(run_id)]
        return pages.render(
            request,
            "run.html",
            title=f"run {run.run_id}",
            refresh=not run.finished,
            run=run,
            took=_ms(run.started, run.ended),
            request_id=request_id_of(run),
            handles=handles,
            handlers=_handlers(state.list_runs(limit=SCANNED_RUNS)).get(run.run_id, []),
            failed=run.status == RunStatus.FAILED,
            steps=steps,
        )

    router.include_router(guarded)
    return router
