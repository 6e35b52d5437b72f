"""POST /chat → 202 → GET ?wait → done, through the backend, the local engine and the offline model."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from learninngest.kit import cells
from learninngest.kit.stack import Stack
from tests.e2e.conftest import make_stack
from tests.support import wait_for


def runs_once(request_id: str, stack: Stack, status: str) -> list[dict]:
    """The request's runs, once the first has reached `status` (the REST API may lag the store)."""

    def reached() -> list[dict]:
        runs = cells.runs_of(request_id, stack=stack)
        assert runs and runs[0]["status"] == status, runs
        return runs

    return wait_for(reached, timeout=10)


def test_post_then_long_poll_gives_paris(stack: Stack) -> None:
    reply = httpx.post(f"{stack.backend_url}/api/v1/chat", json={"query": "What is the capital of France?"})
    assert reply.status_code == 202
    accepted = reply.json()
    assert accepted["status"] == "pending"
    assert reply.headers["location"] == accepted["result_url"]
    result = httpx.get(f"{stack.backend_url}{accepted['result_url']}", params={"wait": 20}, timeout=30).json()
    assert result["status"] == "done"
    assert "Paris" in result["content"]
    assert result["attempts"] == 1
    assert result["usage"]["total_tokens"] > 0
    assert result["model"]


def test_the_event_and_its_completed_run_are_visible(stack: Stack) -> None:
    accepted = cells.send("What is the capital of France?", stack=stack)
    cells.wait_for_result(accepted["request_id"], stack=stack, timeout=20)
    runs = runs_once(accepted["request_id"], stack, "Completed")
    assert runs[0]["event_id"] == accepted["event_ids"][0]
    steps = cells.steps_of(runs[0]["run_id"], stack=stack)
    assert [s["name"] for s in steps if s["status"] == "Completed"][:2] == ["generate", "save"]


def test_rate_limited_twice_is_done_after_three_attempts(stack: Stack) -> None:
    accepted = cells.send("[fault:429x2] What is the capital of France?", stack=stack)
    result = cells.wait_for_result(accepted["request_id"], stack=stack, timeout=30)
    assert result["status"] == "done"
    assert result["attempts"] == 3
    assert "Paris" in result["content"]
    assert "[fault" not in result["content"]


def test_bad_request_is_an_error_after_one_attempt(stack: Stack) -> None:
    accepted = cells.send("[fault:400] hello", stack=stack)
    result = cells.wait_for_result(accepted["request_id"], stack=stack, timeout=30)
    assert result["status"] == "error"
    assert result["attempts"] == 1
    assert "provider answered 400" in result["error"]
    runs = runs_once(accepted["request_id"], stack, "Failed")
    assert runs[0]["status"] == "Failed"


def test_retries_exhausted_is_an_error_via_the_failure_handler(stack: Stack) -> None:
    accepted = cells.send("[fault:500x*] hello", stack=stack)
    result = cells.wait_for_result(accepted["request_id"], stack=stack, timeout=60)
    assert result["status"] == "error"
    assert result["attempts"] == 4  # WORKER_RETRIES=3 → four attempts


def test_idempotency_key_gives_one_request_and_one_run(stack: Stack) -> None:
    first = cells.send("What is the capital of France?", stack=stack, idempotency_key="lesson-h")
    second = cells.send("What is the capital of France?", stack=stack, idempotency_key="lesson-h")
    assert second["request_id"] == first["request_id"]
    assert second["event_ids"] == first["event_ids"]
    cells.wait_for_result(first["request_id"], stack=stack, timeout=20)
    runs = runs_once(first["request_id"], stack, "Completed")
    assert len(runs) == 1


def test_clean_strips_markdown_and_raw_keeps_it(stack: Stack) -> None:
    raw = cells.send("Explain Inngest steps", stack=stack, clean=False)
    clean = cells.send("Explain Inngest steps", stack=stack, clean=True)
    raw_text = cells.wait_for_result(raw["request_id"], stack=stack)["content"]
    clean_text = cells.wait_for_result(clean["request_id"], stack=stack)["content"]
    assert any(mark in raw_text for mark in ("**", "#", "```"))
    assert not any(mark in clean_text for mark in ("**", "```"))


def test_a_restarted_backend_keeps_finished_results(tmp_path: Path) -> None:
    first = make_stack(tmp_path).up()
    try:
        accepted = cells.send("What is the capital of France?", stack=first)
        done = cells.wait_for_result(accepted["request_id"], stack=first, timeout=20)
        assert done["status"] == "done"
    finally:
        first.down()
    second = make_stack(tmp_path).up()
    try:
        again = httpx.get(f"{second.backend_url}/api/v1/chat/result/{accepted['request_id']}").json()
        assert again == done
    finally:
        second.down()


@pytest.mark.parametrize("path", ["/api/v1/chat/{id}/runs"])
def test_runs_with_the_engine_down_is_503(stack: Stack, path: str) -> None:
    accepted = cells.send("What is the capital of France?", stack=stack)
    cells.wait_for_result(accepted["request_id"], stack=stack)
    assert stack.engine is not None
    stack.engine.stop()
    reply = httpx.get(stack.backend_url + path.format(id=accepted["request_id"]))
    assert reply.status_code == 503
    assert "Could not reach the Inngest REST API" in reply.json()["detail"]


def test_concurrent_posts_with_one_idempotency_key_start_one_run(stack: Stack) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def post(_: int) -> dict:
        return cells.send("What is the capital of France?", stack=stack, idempotency_key="double-click")

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(post, range(6)))
    assert len({a["request_id"] for a in answers}) == 1
    assert all(a["event_ids"] == answers[0]["event_ids"] and a["event_ids"] for a in answers)
    request_id = answers[0]["request_id"]
    cells.wait_for_result(request_id, stack=stack)
    runs = runs_once(request_id, stack, "Completed")
    assert len(runs) == 1


def test_a_cancelled_run_ends_the_request_as_error(tmp_path: Path) -> None:
    # A slow clock keeps the run in its retry backoff long enough to cancel it.
    stack = make_stack(tmp_path, engine_time_scale=1.0).up()
    try:
        accepted = cells.send("[fault:500x*] hello", stack=stack)
        run = wait_for(lambda: cells.runs_of(accepted["request_id"], stack=stack)[0], timeout=10)
        reply = httpx.delete(f"{stack.inngest_url}/v1/runs/{run['run_id']}")
        assert reply.status_code == 200
        result = cells.wait_for_result(accepted["request_id"], stack=stack, timeout=20)
        assert result["status"] == "error"
        assert result["error"] == f"The run was cancelled (run {run['run_id']}); send the request again."
    finally:
        stack.down()
