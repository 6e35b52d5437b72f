"""The notebook handed to students fails every check, each with the sentence that says what to do;
`python -m learninngest.kit.grade` reports it and exits 1. (nbval runs the solved copy in `make test`.)"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from learninngest.kit import grade

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

HINTS = {
    "two_steps": "add a second ctx.step.run",
    "retries": "give @stack.function retries=2 or more",
    "concurrency": "add concurrency=[inngest.Concurrency(limit=2)]",
    "failure_handler": "pass on_failure=record_failure",
    "idempotent": "give the event an id made from the order",
    "approval": "use ctx.step.wait_for_event",
}


def test_the_unsolved_notebook_fails_each_check_with_its_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert grade.main([str(NOTEBOOKS / "exercises.ipynb")]) == 1
    report = capsys.readouterr().out
    for check, hint in HINTS.items():
        line = next(line for line in report.splitlines() if f" {check} " in line)
        assert " NOT NotYet: " in line and hint in line, line
    assert report.rstrip().endswith("0 of 6 exercises pass")


def test_every_check_of_the_notebooks_is_one_the_tests_know() -> None:
    for path in (NOTEBOOKS / "exercises.ipynb", NOTEBOOKS / "solutions" / "exercises.ipynb"):
        cells = nbformat.read(path, as_version=4).cells
        calls = [call for cell in cells for call in grade.CHECK_CALL.findall(cell.source)]
        assert calls == list(HINTS), path


def test_a_missing_notebook_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert grade.main([str(tmp_path / "nope.ipynb")]) == 2
    assert "give the path of the exercises notebook" in capsys.readouterr().err
