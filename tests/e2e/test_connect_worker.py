"""INNGEST_CONNECT=1: the backend takes its calls as a connect worker, with the same chat
results as over HTTP (same content, attempts, errors, failure handler)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from learninngest.kit import cells
from learninngest.kit.stack import Stack
from tests.e2e.conftest import make_stack

QUERIES = [
    "What is the capital of France?",
    "[fault:429x2] What is the capital of France?",  # retried twice, then done
    "[fault:400] hello",  # not retriable: error after one attempt
    "[fault:500x*] hello",  # retries exhausted: the failure handler stores the error
]


def outcomes(stack: Stack) -> list[dict[str, Any]]:
    accepted = [cells.send(q, stack=stack) for q in QUERIES]
    results = [cells.wait_for_result(a["request_id"], stack=stack, timeout=60) for a in accepted]
    keep = ("status", "content", "attempts", "error")
    return [{k: r.get(k) for k in keep} for r in results]


def test_connect_worker_gives_the_same_results_as_http(tmp_path: Path) -> None:
    over_http = make_stack(tmp_path / "http").up()
    try:
        expected = outcomes(over_http)
    finally:
        over_http.down()
    over_connect = make_stack(tmp_path / "connect", inngest_connect=True).up()
    try:
        assert outcomes(over_connect) == expected
        apps = httpx.get(f"{over_connect.inngest_url}/v1/apps").json()["data"]["apps"]
        assert [a["url"] for a in apps] == ["ws://connect?app_name=learninngest"]
    finally:
        over_connect.down()
    assert [o["status"] for o in expected] == ["done", "done", "error", "error"]
