"""/api/inngest in production mode (INNGEST_DEV=0): the registered URL comes from settings,
unsigned syncs are refused, and signatures dated more than 5 minutes from now are refused;
in every mode it serves a function list that can change while the backend runs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import inngest
import pytest

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.engine.wire import signing
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.worker.signature_window import stale
from tests.engine.harness import local_engine

SIGNING_KEY = "signkey-test-" + "ab12" * 16
DAY_S = 86_400


@pytest.fixture
def production_backend(tmp_path: Path) -> Iterator[BackgroundServer]:
    """A production-mode backend whose Inngest server is a signed local engine."""
    port = free_port()
    with local_engine(signing_key=SIGNING_KEY, event_key="test-event-key") as engine:
        settings = get_settings(
            port=port,
            public_url=f"http://127.0.0.1:{port}/prefix",
            inngest_dev="0",
            inngest_base_url=engine.url,
            inngest_signing_key=SIGNING_KEY,
            inngest_event_key="test-event-key",
            result_store_url=f"sqlite:///{tmp_path / 'results.db'}",
        )
        with BackgroundServer(create_app(settings), name="backend", port=port) as backend:
            backend.engine = engine  # type: ignore[attr-defined]
            yield backend


def signed(ts: int | None = None) -> dict[str, str]:
    return {"x-inngest-signature": signing.sign(b"", SIGNING_KEY, ts), "x-inngest-server-kind": "cloud"}


def test_unsigned_sync_is_refused_and_the_url_comes_from_public_url(
    production_backend: BackgroundServer,
) -> None:
    url = f"{production_backend.url}/api/inngest"
    forged = {"host": "attacker.example"}
    unsigned = httpx.put(url, headers=forged)
    assert unsigned.status_code == 401, unsigned.text
    # A signed sync that reached the backend with a foreign Host header (a proxy, a test)
    # still registers the public URL, path prefix included.
    reply = httpx.put(url, headers=signed() | forged, timeout=10)
    assert reply.status_code == 200 and reply.json()["ok"], reply.text
    with production_backend.engine.rest() as rest:  # type: ignore[attr-defined]
        apps = rest.get("/v1/apps").json()["data"]["apps"]
    assert [a["url"] for a in apps] == [f"{production_backend.url}/prefix/api/inngest"]


@pytest.mark.parametrize(("offset", "word"), [(-DAY_S, "old"), (365 * DAY_S, "in the future")])
def test_signatures_outside_five_minutes_are_refused(
    production_backend: BackgroundServer, offset: int, word: str
) -> None:
    url = f"{production_backend.url}/api/inngest"
    headers = signed(int(time.time()) + offset)
    for reply in (
        httpx.get(url, headers=headers),
        httpx.post(f"{url}?probe=trust", headers=headers),
        httpx.put(url, headers=headers),
    ):
        assert reply.status_code == 401, reply.text
        message = reply.json()["message"]
        assert message.startswith("Unauthorized: the request's signature is")
        assert f"s {word}; signed requests more than 5 minutes from now are refused" in message


def test_a_fresh_signature_works(production_backend: BackgroundServer) -> None:
    url = f"{production_backend.url}/api/inngest"
    inspection = httpx.get(url, headers=signed())
    assert inspection.status_code == 200 and inspection.json()["authentication_succeeded"] is True
    assert httpx.post(f"{url}?probe=trust", headers=signed()).status_code == 200
    # Unsigned requests are still the SDK's to refuse.
    assert httpx.get(url).status_code == 401


def test_stale_reads_only_the_timestamp() -> None:
    assert stale("t=1000&s=x", now=1300) is None
    assert stale("t=1000&s=x", now=700) is None
    assert stale("t=1000&s=x", now=1301) is not None
    assert "no valid timestamp" in (stale("s=x", now=0) or "")


def test_dev_mode_is_unchanged(tmp_path: Path) -> None:
    settings = get_settings(result_store_url=f"sqlite:///{tmp_path / 'r.db'}")
    with BackgroundServer(create_app(settings), name="backend") as backend:
        old = {"x-inngest-signature": signing.sign(b"", SIGNING_KEY, int(time.time()) - DAY_S)}
        assert httpx.get(f"{backend.url}/api/inngest", headers=old).status_code == 200
        assert httpx.put(f"{backend.url}/api/inngest").status_code != 401  # no engine here: 500


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
