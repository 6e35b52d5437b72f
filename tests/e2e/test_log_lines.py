"""One log line per event that matters, each with the request id, checked as text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from learninngest.kit import cells
from learninngest.kit.stack import Stack
from tests.support import LogLines, capture_log, mask_timings, wait_for


@pytest.fixture
def lines() -> Iterator[LogLines]:
    with capture_log("learninngest", "%(levelname)s %(name)s [%(request_id)s] %(message)s") as captured:
        yield captured


def test_a_retried_request_logs_enqueued_started_retried_done(stack: Stack, lines: LogLines) -> None:
    request_id = cells.send("[fault:429x1] What is the capital of France?", stack=stack)["request_id"]
    assert cells.wait_for_result(request_id, stack=stack)["status"] == "done"

    def ours() -> list[str]:
        found = [mask_timings(line) for line in lines.lines if f"[{request_id}]" in line]
        assert any("done after" in line for line in found)
        return found

    found = wait_for(ours)
    # The engine may start the run before the POST handler logs its line: the two race.
    first_two = sorted(found[:2])
    assert first_two[0].startswith(f"INFO learninngest.api [{request_id}] request enqueued: event ")
    assert first_two[1].startswith(f"INFO learninngest.worker [{request_id}] run started (run ")
    assert found[2] == (
        f"WARNING learninngest.worker [{request_id}] LLM call failed on attempt 1 (retriable): "
        "provider answered 429: Rate limit reached (simulated by the offline model: fault 429, call 1). "
        "Retry after <t>."
    )
    assert found[3].startswith(f"WARNING learninngest.worker [{request_id}] step generate retried: attempt 2")
    assert found[4] == f"INFO learninngest.worker [{request_id}] done after 2 attempt(s)"


def test_a_failed_request_logs_the_failure(stack: Stack, lines: LogLines) -> None:
    request_id = cells.send("[fault:400] hello", stack=stack)["request_id"]
    assert cells.wait_for_result(request_id, stack=stack)["status"] == "error"

    def failed() -> str:
        found = [line for line in lines.lines if f"[{request_id}]" in line and "run failed" in line]
        assert found
        return found[0]

    assert wait_for(failed).startswith(
        f"ERROR learninngest.worker [{request_id}] run failed: provider answered 400: Bad request"
    )
