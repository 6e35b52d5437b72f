"""With API keys, the offline model the backend mounts admits only those keys and the backend itself.

Before, /offline/v1/chat/completions answered anyone, keys or not.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from learninngest.llm.provider import model_name
from tests.e2e.conftest import make_stack
from tests.support import wait_for

ALICE = "alice-key-0123456789abcdef"
CALL = {
    "model": "learninngest-offline-1",
    "messages": [{"role": "user", "content": "What is the capital of France?"}],
}


def test_the_mounted_model_wants_a_key_and_the_backend_still_reaches_it(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, api_keys=f"alice={ALICE}").up()
    try:
        base = f"{stack.backend_url}/offline/v1"
        refused = httpx.post(f"{base}/chat/completions", json=CALL)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
        assert httpx.get(f"{base}/models").status_code == 401
        wrong = httpx.post(f"{base}/chat/completions", json=CALL, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        with_key = httpx.post(
            f"{base}/chat/completions", json=CALL, headers={"Authorization": f"Bearer {ALICE}"}
        )
        assert with_key.status_code == 200 and "Paris" in with_key.json()["choices"][0]["message"]["content"]

        # The pipeline's own calls carry the backend's derived key.
        headers = {"Authorization": f"Bearer {ALICE}"}
        request_id = httpx.post(
            f"{stack.backend_url}/api/v1/chat",
            json={"query": CALL["messages"][0]["content"]},
            headers=headers,
        ).json()["request_id"]

        def done() -> None:
            result = httpx.get(f"{stack.backend_url}/api/v1/chat/result/{request_id}", headers=headers).json()
            assert result["status"] == "done" and "Paris" in result["content"], result

        wait_for(done, timeout=60, interval=0.2)
    finally:
        stack.down()


def test_in_dev_mode_the_mounted_model_stays_open(tmp_path: Path) -> None:
    stack = make_stack(tmp_path).up()
    try:
        models = httpx.get(f"{stack.backend_url}/offline/v1/models")
        assert models.status_code == 200 and models.json()["data"][0]["id"] == model_name(stack.settings)
    finally:
        stack.down()
