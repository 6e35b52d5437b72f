"""POST /api/v1/chat takes work only once the app's functions are synced (api/sync_gate.py).

The kit's Stack (and `learninngest up`) starts the backend, then the engine, then syncs:
a request accepted before the sync would start no run. Here the Stack's sync is held
back, so the window stays open long enough to be tested.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from learninngest.config import get_settings
from learninngest.kit.stack import Stack
from tests.support import wait_for


class HeldStack(Stack):
    """A Stack whose sync waits until the test releases it."""

    release = threading.Event()

    def sync(self, timeout: float = 15.0) -> dict[str, object]:
        assert self.release.wait(60)
        return super().sync(timeout)


def test_post_answers_503_with_retry_after_until_the_stack_has_synced(tmp_path: Path) -> None:
    settings = get_settings(
        result_store_url=f"sqlite:///{tmp_path / 'results.db'}", engine_db="memory", engine_time_scale=0.01
    )
    stack = HeldStack(settings=settings)
    starting = threading.Thread(target=stack.up, daemon=True)
    starting.start()
    try:

        def backend_started() -> str:
            assert stack.backend is not None
            return stack.backend.url

        backend = wait_for(backend_started, timeout=30)
        wait_for(lambda: httpx.get(f"{backend}/healthz").raise_for_status(), timeout=90)

        early = httpx.post(f"{backend}/api/v1/chat", json={"query": "What is the capital of France?"})
        assert early.status_code == 503
        assert early.headers["Retry-After"] == "1"
        assert "not yet synced" in early.json()["detail"] and "Retry in a moment" in early.json()["detail"]
        ready = httpx.get(f"{backend}/readyz")
        assert ready.status_code == 503 and "not yet synced" in ready.json()["checks"]["inngest"]

        HeldStack.release.set()
        starting.join(60)
        accepted = httpx.post(f"{backend}/api/v1/chat", json={"query": "What is the capital of France?"})
        assert accepted.status_code == 202
        result = httpx.get(
            f"{backend}{accepted.json()['result_url']}", params={"wait": 20}, timeout=30
        ).json()
        assert result["status"] == "done" and "Paris" in result["content"]
    finally:
        HeldStack.release.set()
        starting.join(60)
        stack.down()


def test_serve_accepts_at_once() -> None:
    from learninngest.app import create_app

    # `learninngest serve` cannot know when an outside server syncs it: its gate starts open.
    assert create_app(get_settings()).state.sync_gate.is_open
