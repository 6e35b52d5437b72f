"""The chat page: static files (no build step, no CDN) served by the backend at `/`.

`static/` holds index.html, chat.js and chat.css (served under /web); `/web/config.json` tells
the page where the Inngest dashboard is, so it can link a request to its run. Every URL the
page uses is relative, so it works under a proxy's path prefix; the dashboard's is one the
browser can open: through the same proxy when the page came through one (browser_urls.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from learninngest import browser_urls
from learninngest.browser_urls import DIRECT, BrowserUrls
from learninngest.config import Settings

FOLDER = Path(__file__).parent / "static"
CLOUD_APP_URL = "https://app.inngest.com"


def page_config(settings: Settings, browser: BrowserUrls = DIRECT) -> dict[str, Any]:
    """What the page needs to know: the dashboard, and the page of one run (`{run_id}`)."""
    if not settings.is_dev:
        return {"dashboard_url": CLOUD_APP_URL, "run_url": None}  # Cloud's run pages need a login
    dashboard = browser.url(settings.inngest_api_url.rstrip("/") + "/")
    # The local engine's run page; the real Dev Server shows runs at /runs too (its list).
    return {"dashboard_url": dashboard, "run_url": f"{dashboard}runs/{{run_id}}"}


def mount_web(app: FastAPI, settings: Settings) -> None:
    router = APIRouter(include_in_schema=False)
    hosted = browser_urls.detect(settings.kit_proxy_url, os.environ)

    @router.get("/")
    async def chat_page() -> FileResponse:
        return FileResponse(FOLDER / "index.html", headers={"Cache-Control": "no-cache"})

    @router.get("/web/config.json")
    async def config(request: Request) -> dict[str, Any]:
        # Came through jupyter-server-proxy: the dashboard is behind the same proxy.
        proxied = browser_urls.from_prefix(request.scope.get("root_path", ""))
        return page_config(settings, proxied or hosted)

    app.include_router(router)
    app.mount("/web", StaticFiles(directory=FOLDER), name="web")
