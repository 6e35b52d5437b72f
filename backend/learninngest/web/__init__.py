"""The chat page: static files (no build step, no CDN) served by the backend at `/`.

`static/` holds index.html, chat.js and chat.css (served under /web); `/web/config.json` tells
the page where the Inngest dashboard is, so it can link a request to its run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from learninngest.config import Settings

FOLDER = Path(__file__).parent / "static"
CLOUD_APP_URL = "https://app.inngest.com"


def page_config(settings: Settings) -> dict[str, Any]:
    """What the page needs to know: the dashboard, and the page of one run (`{run_id}`)."""
    if not settings.is_dev:
        return {"dashboard_url": CLOUD_APP_URL, "run_url": None}  # Cloud's run pages need a login
    dashboard = settings.inngest_api_url.rstrip("/")
    # The local engine's run page; the real Dev Server shows runs at /runs too (its list).
    return {"dashboard_url": f"{dashboard}/", "run_url": f"{dashboard}/runs/{{run_id}}"}


def mount_web(app: FastAPI, settings: Settings) -> None:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def chat_page() -> FileResponse:
        return FileResponse(FOLDER / "index.html", headers={"Cache-Control": "no-cache"})

    @router.get("/web/config.json")
    async def config() -> dict[str, Any]:
        return page_config(settings)

    app.include_router(router)
    app.mount("/web", StaticFiles(directory=FOLDER), name="web")
