"""The teacher's workflow with otter-grader, on two of the tasks: hand out, then grade an
unsolved and a solved notebook. The total is always the tasks handed out: an emptied or
deleted check cell neither skips its task nor shrinks the count."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from learninngest.kit import grade, handout
from tests.kit.exercise_sources import cut

TASKS = ["replay", "dedupe"]


def without_checks(notebook: nbformat.NotebookNode, how: str) -> nbformat.NotebookNode:
    """The notebook with its `grader.check` cells emptied (`empty`) or deleted (`delete`)."""
    kept = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith("grader.check("):
            if how == "delete":
                continue
            cell.source = ""
        kept.append(cell)
    notebook.cells = kept
    return notebook


@pytest.mark.timeout(300)
def test_hand_out_then_grade_an_unsolved_and_a_solved_notebook(tmp_path: Path) -> None:
    source = cut(TASKS, tmp_path / "exercises.py")
    handed_out, out = tmp_path / "exercises.ipynb", tmp_path / "autograder"
    handout.write(source=source, student_path=handed_out, out=out)
    unsolved = tmp_path / "ana.ipynb"  # handed in as it was, one check cell emptied
    first_check_emptied = nbformat.read(handed_out, as_version=4)
    first = next(c for c in first_check_emptied.cells if c.source.startswith("grader.check("))
    first.source = ""
    nbformat.write(first_check_emptied, unsolved)
    solved = tmp_path / "ben.ipynb"  # solved, and every check cell deleted
    nbformat.write(without_checks(handout.build(source).solved, "delete"), solved)

    # As `make grade` runs it: a process of its own (otter's grading leaves a socket to the
    # interpreter's exit).
    command = [sys.executable, "-m", "learninngest.kit.grade", str(unsolved), str(solved)]
    command += ["--tests", str(out / "tests"), "--csv", str(tmp_path / "g.csv")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)

    assert done.returncode == 1, done.stdout + done.stderr  # one notebook has unsolved tasks
    report = done.stdout
    ana, ben = report.split(str(solved))
    assert " 1. replay           NOT NotYet: one raffle was drawn" in ana
    assert " 2. dedupe           NOT NotYet: two calls of place_order(" in ana and "started 2 runs" in ana
    assert ana.rstrip().endswith("0 of 2 tasks pass")
    assert " 1. replay           ok  passed" in ben and " 2. dedupe           ok  passed" in ben
    assert ben.rstrip().endswith("2 of 2 tasks pass")
    with (tmp_path / "g.csv").open() as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["notebook", "replay", "dedupe", "total", "possible"],
        [str(unsolved), "0", "0", "0", "2"],
        [str(solved), "1", "1", "2", "2"],
    ]


def test_a_check_s_sentence_is_read_from_otter_s_report() -> None:
    doctest = (
        "Failed example:\n    checks.replay(raffle, raffle_desk)\nExpected:\n    'passed'\nGot:\n"
        '    "NotYet: Ada-x1y\'s raffle"\n'
    )
    assert grade._message(doctest) == "NotYet: Ada-x1y's raffle"
    assert grade._message("Exception raised:\n    NameError: name 'raffle' is not defined") == (
        "NameError: name 'raffle' is not defined"
    )
    outcomes = [grade.Outcome("replay", True, "passed"), grade.Outcome("dedupe", False, "NotYet: no")]
    assert grade.report(outcomes).splitlines() == [
        " 1. replay           ok  passed",
        " 2. dedupe           NOT NotYet: no",
        "1 of 2 tasks pass",
    ]


def test_usage_errors_say_what_to_give(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert grade.main([str(tmp_path / "nope.ipynb")]) == 2
    assert "give the path of an exercises notebook" in capsys.readouterr().err
    notebook = tmp_path / "exercises.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    assert grade.main([str(notebook), "--tests", str(tmp_path / "none")]) == 2
    assert "run `make handout` (the teacher) first" in capsys.readouterr().err
