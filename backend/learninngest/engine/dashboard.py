"""A few server-rendered HTML pages over the state: runs, events, apps, one run's timeline.

Plain HTML and CSS, no JavaScript; the re-sync button is a form POST. The home page lists
runs first (newest on top, with the chat request id), then events, each linked to the runs
it started; a failed run links to its failure handler's run. Errors show their message
and a folded, readable stack trace. Pages refresh every few seconds with a meta tag (a
run's page only while the run is active). In signed mode every page and POST needs the
signing key (`dashboard_auth`), and re-sync only reaches the engine's `-u` URLs.

Links are relative to the dashboard's root (a page one level down says so with
`<base href="../">`), so the pages work under a proxy's path prefix too
(jupyter-server-proxy's `/user/<name>/proxy/<port>/` on a hosted Jupyter server).
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from learninngest.engine.clock import iso
from learninngest.engine.dashboard_auth import DashboardAuth
from learninngest.engine.dashboard_auth import build_router as build_login_router
from learninngest.engine.ids import is_ulid

if TYPE_CHECKING:
    from learninngest.engine.app import Engine
    from learninngest.engine.state import Run

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}th{background:#f4f4f4}
code,pre{font:12px ui-monospace,monospace}pre{margin:0;white-space:pre-wrap;max-width:60em}
.Completed{color:#176f2c}.Failed,.TimedOut{color:#b00020}.Cancelled,.Skipped,.rate_limited,.skipped{color:#777}
.Running,.Sleeping,.Waiting,.Retrying,.Scheduled,.Planned,.Throttled,.debounced,.batched{color:#9a6700}
.err b{color:#b00020}details{margin-top:.2em}summary{cursor:pointer;color:#555}
"""
HANDLER_EVENTS = ("inngest/function.failed", "inngest/function.cancelled")
"""Events whose runs handle another run's end: their data.run_id is that run."""
SCANNED_RUNS = 500
"""How many recent runs are searched for a failed run's handler (a dashboard, not an index)."""


def _page(title: str, body: str, refresh: bool = True, status: int = 200, base: str = "") -> HTMLResponse:
    meta = '<meta http-equiv="refresh" content="3">' if refresh else ""
    meta += f"<base href='{base}'>" if base else ""  # `base`: the way up to the dashboard's root
    return HTMLResponse(
        # An empty icon: without it the browser asks for /favicon.ico and logs a 404.
        f"<!doctype html><html><head><meta charset='utf-8'>{meta}<title>{escape(title)}</title>"
        "<link rel='icon' href='data:,'>"
        f"<style>{_CSS}</style></head><body>{body}</body></html>",
        status,
    )


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    if not rows:
        return f"<table><tr>{head}</tr><tr><td colspan='{len(headers)}'>none yet</td></tr></table>"
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _status(text: str) -> str:
    return f"<span class='{escape(text)}'>{escape(text)}</span>"


def _json(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=str, indent=2, ensure_ascii=False)
    return f"<pre>{escape(text if len(text) <= limit else text[:limit] + '…')}</pre>"


def _error(err: Any) -> str:
    """An error as a person reads it: name and message, the stack folded, with real line breaks."""
    if isinstance(err, dict) and "error" in err and len(err) == 1:
        err = err["error"]  # a run's output on failure: {"error": {...}}
    if not isinstance(err, dict) or not err.get("message"):
        return _json(err, 2000)
    head = f"<b>{escape(str(err.get('name') or 'Error'))}</b>: {escape(str(err['message']))}"
    stack = err.get("stack")
    folded = (
        f"<details><summary>stack trace</summary><pre>{escape(str(stack))}</pre></details>" if stack else ""
    )
    return f"<div class='err'>{head}{folded}</div>"


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


def _run_link(run_id: str) -> str:
    return f"<a href='runs/{escape(run_id)}'><code>{escape(run_id)}</code></a>"


def _ms(start: float | None, end: float | None) -> str:
    return "" if start is None or end is None else f"{(end - start) * 1000:.0f} ms"


def _flow_notes(engine: Engine, event_id: str) -> str:
    """Flow control's word on an event: debounced, batched, rate_limited, skipped (and its run)."""
    notes = []
    for d in engine.executor.flow.store.decisions(event_id):
        run = f" → <a href='runs/{d['run_id']}'>run</a>" if d["run_id"] else ""
        notes.append(
            f"<span title='{escape(d['detail'])}'>{escape(d['function_slug'])}: "
            f"{_status(d['decision'])}</span>{run}"
        )
    return "<br>".join(notes)


def build_router(engine: Engine) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    auth = DashboardAuth(engine)
    router.include_router(build_login_router(auth))

    @router.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        if (no := auth.guard(request)) is not None:
            return no
        run_headers = ["run", "request", "function", "status", "calls", "retries", "started", "took"]
        state, registry = engine.state, engine.registry
        apps = [
            [escape(a["app_id"]), escape(a["url"]), escape(iso(a["synced"]) or ""),
             "<br>".join(escape(f.slug) for f in registry.all() if f.app_id == a["app_id"])]
            for a in state.list_apps()
        ]  # fmt: skip
        syncs = [
            [
                escape(r["url"]),
                "ok" if r["ok"] else f"<span class='Failed'>{escape(r.get('error', ''))}</span>",
            ]
            for r in registry.sync_results.values()
        ]
        recent = state.list_runs(limit=SCANNED_RUNS)
        handlers = _handlers(recent)
        runs = []
        for run in recent[:50]:  # newest first (run ids are ULIDs: they sort by time)
            steps = state.steps_of(run.run_id)
            retries = sum(1 for s in steps if s["status"] == "Retrying")
            handled_by = " ".join(f"→ handler {_run_link(h.run_id)}" for h in handlers.get(run.run_id, []))
            runs.append(
                [_run_link(run.run_id), f"<code>{escape(request_id_of(run))}</code>",
                 escape(run.function_slug), f"{_status(run.status)} {handled_by}", str(len(steps)),
                 str(retries), escape(iso(run.started) or ""), _ms(run.started, run.ended)]
            )  # fmt: skip
        events = [
            [f"<code>{escape(e['internal_id'])}</code>", escape(e["name"]), escape(iso(e["received"]) or ""),
             "duplicate id: no run" if e["duplicate"]
             else " ".join(filter(None, [
                 " ".join(_run_link(r.run_id) for r in state.runs_for_event(e["internal_id"])),
                 _flow_notes(engine, e["internal_id"])])) or "no run"]
            for e in state.list_events(limit=20)
        ]  # fmt: skip
        resync = "<form method='post' action='dashboard/sync'><button>Re-sync apps</button></form>"
        if engine.settings.signed:
            resync += "<form method='post' action='dashboard/logout'><button>Log out</button></form>"
        body = (
            f"<h1>LearnInngest engine</h1><p>{engine.settings.server_kind} mode · time scale "
            f"{engine.settings.time_scale:g} · state: {escape(engine.settings.db_path or 'memory')}</p>"
            f"<h2>Runs</h2>{_table(run_headers, runs)}"
            f"<h2>Recent events</h2>{_table(['event id', 'name', 'received', 'runs'], events)}"
            f"<h2>Apps</h2>{_table(['app', 'url', 'synced at', 'functions'], apps)}"
            f"{_table(['sync url', 'last result'], syncs) if syncs else ''}{resync}"
        )
        return _page("LearnInngest engine", body)

    @router.post("/dashboard/sync")
    async def resync(request: Request) -> Response:
        if (no := auth.guard(request)) is not None:
            return no
        # Parsed by hand: FastAPI's Form() would need python-multipart just for one button.
        url = parse_qs((await request.body()).decode()).get("url", [""])[0]
        if url and engine.settings.signed and not engine.registry.is_configured(url):
            # The engine would send a *signed* request to whatever URL was typed in.
            known = ", ".join(engine.settings.app_urls) or "none"
            return _page(
                "re-sync refused",
                f"<p>Re-sync refused: {escape(url)} is not one of this engine's app URLs "
                f"(-u: {escape(known)}). <a href='./'>back</a></p>",
                refresh=False,
                status=400,
                base="../",
            )
        await engine.registry.sync_all([url] if url else None)
        return RedirectResponse("../", status_code=303)  # relative: right under a path prefix too

    @router.get("/runs/{run_id}", response_class=HTMLResponse)
    async def run_page(run_id: str, request: Request) -> Response:
        if (no := auth.guard(request)) is not None:
            return no
        run = engine.state.get_run(run_id) if is_ulid(run_id) else None
        if run is None:
            return _page(
                "run not found",
                f"<p>No run {escape(run_id)}. <a href='./'>back</a></p>",
                refresh=False,
                base="../",
            )
        rows = [
            [escape(s["name"]), escape(s["op"]), str(s["attempt"]), _status(s["status"]),
             escape(iso(s["started"]) or ""), _ms(s["started"], s["ended"]),
             "" if s["intended_delay_ms"] is None else f"{s['intended_delay_ms']} ms",
             escape(iso(s["scheduled_for_intended"]) or ""),
             _error(s["error"]) if s["error"] else _json(s["output"]) if s["output"] is not None else ""]
            for s in engine.state.steps_of(run_id)
        ]  # fmt: skip
        links = []
        if request_id := request_id_of(run):
            links.append(f"request <code>{escape(request_id)}</code>")
        if run.event.get("name") in HANDLER_EVENTS:
            handled = str((run.event.get("data") or {}).get("run_id") or "")
            links.append(f"handles the end of run {_run_link(handled)}")
        for handler in _handlers(engine.state.list_runs(limit=SCANNED_RUNS)).get(run.run_id, []):
            links.append(f"its failure handler: run {_run_link(handler.run_id)} ({_status(handler.status)})")
        body = (
            f"<p><a href='./'>← engine</a></p><h1>Run <code>{run.run_id}</code></h1>"
            f"<p>{escape(run.function_slug)} · {_status(run.status)} · event <code>{run.event_id}</code> · "
            f"started {iso(run.started)} · took {_ms(run.started, run.ended) or '…'}</p>"
            + "".join(f"<p>{link}</p>" for link in links)
            + (f"<h2>Error</h2>{_error(run.output)}" if run.status == "Failed" else "")
            + "<h2>Timeline</h2>"
            + _table(
                [
                    "step",
                    "op",
                    "attempt",
                    "status",
                    "started",
                    "took",
                    "intended delay",
                    "scheduled for",
                    "output / error",
                ],
                rows,
            )  # fmt: skip
            + f"<h2>Event</h2>{_json(run.event, 4000)}"
            # A failed run's output is its error, shown readably above.
            + ("" if run.status == "Failed" else f"<h2>Output</h2>{_json(run.output, 4000)}")
        )
        return _page(f"run {run.run_id}", body, refresh=not run.finished, base="../")

    return router
