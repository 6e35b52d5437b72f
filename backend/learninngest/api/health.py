"""Liveness (/healthz) and readiness (/readyz: store, Inngest server, LLM provider).

In production mode (INNGEST_DEV=0) a failing check answers only "not ready"; its detail,
which names internal addresses, goes to the log.
"""

from __future__ import annotations

import logging

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from learninngest.api.deps import SettingsDep, StoreDep
from learninngest.config import Settings
from learninngest.store.base import ResultStore, StoreBusy

router = APIRouter(tags=["health"])
log = logging.getLogger("learninngest.api")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


async def _check_store(store: ResultStore) -> str:
    try:
        await store.ping()
    except StoreBusy as exc:
        return f"ok (busy: {exc})"  # up and answering others: restarting the replica would not help
    except Exception as exc:
        return f"not ready: {exc}"
    return "ok"


async def _check_inngest(settings: Settings) -> str:
    if not settings.is_dev and not settings.inngest_base_url:
        return "ok (Inngest Cloud: not probed)"  # self-hosted servers (INNGEST_BASE_URL) are probed
    url = f"{settings.inngest_api_url}/health"
    async with httpx.AsyncClient(timeout=3) as http:
        try:
            reply = await http.get(url)
        except httpx.HTTPError as exc:
            return f"not ready: cannot reach {url} ({type(exc).__name__}); start the Inngest server"
        if reply.status_code >= 500:
            return f"not ready: {url} answered {reply.status_code}"
        return await _check_synced(http, settings)


async def _check_synced(http: httpx.AsyncClient, settings: Settings) -> str:
    """On the local engine, also check this app is synced: unsynced, events would start no run.

    The real Dev Server has no such endpoint (404): there the check is skipped.
    """
    try:
        reply = await http.get(f"{settings.inngest_api_url}/v1/apps")
    except httpx.HTTPError:
        return "ok"
    try:
        apps = (reply.json().get("data") or {}).get("apps") or [] if reply.status_code == 200 else None
    except (ValueError, AttributeError):
        apps = None
    if apps is None:
        return "ok"
    if not any(app.get("app_id") == settings.inngest_app_id for app in apps):
        return (
            f"not ready: app '{settings.inngest_app_id}' is not synced with {settings.inngest_api_url}; "
            f"start it with `learninngest engine -u {settings.own_url}/api/inngest` or PUT that URL"
        )
    return "ok"


def _check_llm(settings: Settings) -> str:
    provider = settings.resolved_provider
    if provider == "openrouter" and not settings.openrouter_api_key:
        return "not ready: OPENROUTER_API_KEY is not set"
    return f"ok ({provider})"


@router.get("/readyz")
async def readyz(request: Request, settings: SettingsDep, store: StoreDep) -> JSONResponse:
    """Each part and whether it is ready; 503 names the part that is not."""
    checks = {
        "store": await _check_store(store),
        "inngest": await _check_inngest(settings),
        "llm": _check_llm(settings),
    }
    if not request.app.state.sync_gate.is_open:  # api/sync_gate.py: the starter has not synced yet
        checks["inngest"] = "not ready: the app's functions are not yet synced; POST /api/v1/chat answers 503"
    ready = all(value.startswith("ok") for value in checks.values())
    if not settings.is_dev:
        for part, value in checks.items():
            if not value.startswith("ok"):
                log.warning("readiness: %s %s", part, value)
                checks[part] = "not ready"
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
