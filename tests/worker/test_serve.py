"""/api/inngest serves a function list that can change while the backend runs."""

from __future__ import annotations

from pathlib import Path

import httpx
import inngest

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer


def inspection(url: str) -> dict:
    return httpx.get(f"{url}/api/inngest", timeout=10).json()


def test_functions_are_added_replaced_and_removed_on_the_running_app(sqlite_path: Path) -> None:
    app = create_app(get_settings(result_store_url=f"sqlite:///{sqlite_path}"))
    served = app.state.functions
    client: inngest.Inngest = app.state.inngest

    @client.create_function(fn_id="extra", trigger=inngest.TriggerEvent(event="t/extra"))
    async def extra(ctx: inngest.Context) -> None:
        return None

    with BackgroundServer(app, name="backend") as backend:
        assert inspection(backend.url)["function_count"] == 2  # chat_worker and chat_cancelled
        served.add(extra)
        served.add(extra)  # the same id again replaces it
        assert served.ids() == [
            "learninngest-chat-worker",
            "learninngest-chat-cancelled",
            "learninngest-extra",
        ]
        assert inspection(backend.url)["function_count"] == 3
        assert served.remove("extra") is True
        assert served.remove("extra") is False
        assert inspection(backend.url)["function_count"] == 2
        # Not part of the backend's public API: the SDK's endpoint stays out of /docs.
        assert "/api/inngest" not in httpx.get(f"{backend.url}/openapi.json").json()["paths"]
        assert httpx.delete(f"{backend.url}/api/inngest").status_code == 405
