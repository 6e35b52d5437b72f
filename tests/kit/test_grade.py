"""The exercises as handed out fail every check, each with the sentence that says what to do;
`python -m learninngest.kit.grade` reports it and exits 1; the solved copy passes all six.

The notebook graded here is built from notebooks/teacher/exercises.py, the handout's source,
not notebooks/exercises.ipynb: that one is the student's to fill in.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

from learninngest.kit import grade

TEACHER = Path(__file__).resolve().parents[2] / "notebooks" / "teacher"

HINTS = {
    "two_steps": "add a second ctx.step.run",
    "retries": "give @stack.function retries=2 or more",
    "concurrency": "add concurrency=[inngest.Concurrency(limit=2)]",
    "failure_handler": "pass on_failure=record_failure",
    "idempotent": "give the event an id made from the order",
    "approval": "use ctx.step.wait_for_event",
}


def test_the_handout_fails_each_check_with_its_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handout = tmp_path / "exercises.ipynb"
    jupytext.write(jupytext.read(TEACHER / "exercises.py"), handout)
    assert grade.main([str(handout)]) == 1
    report = capsys.readouterr().out
    for check, hint in HINTS.items():
        line = next(line for line in report.splitlines() if f" {check} " in line)
        assert " NOT NotYet: " in line and hint in line, line
    assert report.rstrip().endswith("0 of 6 exercises pass")


def test_the_solutions_pass_every_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The grader on the solved copy (built from its source, like the handout above): a check
    # that cannot pass, or a grader that misreads a pass, fails here.
    solved = tmp_path / "solutions.ipynb"
    jupytext.write(jupytext.read(TEACHER / "solutions.py"), solved)
    assert grade.main([str(solved)]) == 0
    report = capsys.readouterr().out
    for check in HINTS:
        line = next(line for line in report.splitlines() if f" {check} " in line)
        assert " ok " in line, report
    assert report.rstrip().endswith("6 of 6 exercises pass"), report


def test_every_check_of_the_exercises_is_one_the_tests_know() -> None:
    sources = [TEACHER / "exercises.py"] + [p for p in [TEACHER / "solutions.py"] if p.exists()]
    for path in sources:
        calls = [call for cell in jupytext.read(path).cells for call in grade.CHECK_CALL.findall(cell.source)]
        assert calls == list(HINTS), path


def test_a_missing_notebook_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert grade.main([str(tmp_path / "nope.ipynb")]) == 2
    assert "give the path of the exercises notebook" in capsys.readouterr().err


def test_an_outcome_is_the_checks_error_or_the_string_it_returned() -> None:
    passed = nbformat.v4.new_code_cell("checks.two_steps(greet)")
    passed.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="ERROR a log line\n"),
        nbformat.v4.new_output("execute_result", {"text/plain": "\"passed: returned 'HELLO, ADA'\""}),
    ]
    failed = nbformat.v4.new_code_cell("checks.two_steps(greet)")
    failed.outputs = [nbformat.v4.new_output("error", ename="NotYet", evalue="add a step", traceback=[])]
    assert grade._outcome(passed, "two_steps") == grade.Outcome(
        "two_steps", True, "passed: returned 'HELLO, ADA'"
    )
    assert grade._outcome(failed, "two_steps") == grade.Outcome("two_steps", False, "NotYet: add a step")
