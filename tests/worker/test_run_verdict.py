"""Pure: what the runs of a pending request say its final record is."""

from __future__ import annotations

from learninngest.store.base import Status
from learninngest.worker.run_verdict import error_message, verdict


def run(status: str, output: object = None, run_id: str = "R1") -> dict[str, object]:
    return {"run_id": run_id, "status": status, "output": output}


def test_a_run_not_over_yet_gives_no_verdict() -> None:
    for status in ("Running", "Scheduled", "Unknown", "Paused"):
        assert verdict([run(status)], event_found=True) is None
    assert verdict([run("Failed"), run("Running", run_id="R2")], event_found=True) is None


def test_completed_with_the_result_in_its_output_is_done() -> None:
    output = {
        "request_id": "r",
        "content": "Paris",
        "model": "m",
        "usage": {"total_tokens": 3},
        "attempts": 2,
    }
    outcome = verdict([run("Completed", output)], event_found=True)
    assert outcome is not None
    assert outcome.fields == {
        "status": Status.done,
        "content": "Paris",
        "model": "m",
        "usage": {"total_tokens": 3},
        "attempts": 2,
    }


def test_completed_without_a_result_is_an_error_saying_so() -> None:
    outcome = verdict([run("Completed", {"request_id": "r", "attempts": 1})], event_found=True)
    assert outcome is not None and outcome.fields["status"] is Status.error
    assert "completed (run R1) but its result was not saved" in outcome.fields["error"]


def test_failed_keeps_the_runs_error_message() -> None:
    outcome = verdict(
        [run("Failed", {"name": "Error", "message": "rate limited by the provider"})], event_found=True
    )
    assert outcome is not None
    assert outcome.fields == {"status": Status.error, "error": "rate limited by the provider"}


def test_error_message_reads_every_shape() -> None:
    assert error_message({"error": {"name": "E", "message": "nested"}}) == "nested"
    assert error_message({"error": "flat"}) == "flat"
    assert error_message("text") == "text"
    assert error_message(None) == "the run failed"


def test_cancelled_and_skipped_are_errors_naming_the_run() -> None:
    cancelled = verdict([run("Cancelled", run_id="R9")], event_found=True)
    skipped = verdict([run("Skipped", run_id="R8")], event_found=True)
    assert cancelled is not None and "cancelled (run R9)" in cancelled.fields["error"]
    assert skipped is not None and "skipped the run (run R8)" in skipped.fields["error"]


def test_a_completed_run_wins_over_a_failed_one() -> None:
    output = {"content": "Paris", "model": "m", "usage": None, "attempts": 1}
    outcome = verdict([run("Failed", {"message": "x"}), run("Completed", output, "R2")], event_found=True)
    assert outcome is not None and outcome.fields["status"] is Status.done


def test_no_run_says_whether_the_event_arrived() -> None:
    started_none = verdict([], event_found=True)
    never_arrived = verdict([], event_found=False)
    assert started_none is not None and "started no run" in started_none.fields["error"]
    assert never_arrived is not None and "never reached the Inngest server" in never_arrived.fields["error"]
