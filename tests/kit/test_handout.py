"""`make handout`: otter assign turns the teacher's source into the student's notebook (the
prompts, never the solutions) and one test per task; the committed copies are current; a
student's changed notebook is never overwritten."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from learninngest.kit import checks, handout
from tests.kit.exercise_sources import NOTEBOOKS, SOURCE, cut

AUTOGRADER = NOTEBOOKS / "autograder"


@pytest.mark.skipif(not SOURCE.exists(), reason="a class repository handed out without the teacher's copy")
def test_the_handout_and_its_tests_are_those_the_source_gives() -> None:
    built = handout.build(SOURCE)
    names = handout.questions(SOURCE)
    assert len(names) >= 12 and list(built.tests) == names
    stamp = json.loads((AUTOGRADER / "HANDOUT").read_text())
    assert stamp == {"tasks": names, "fingerprint": handout.fingerprint(built.student)}, "run `make handout`"
    for name, text in built.tests.items():
        assert (AUTOGRADER / "tests" / f"{name}.py").read_text() == text, f"{name}: run `make handout`"
        # Each task's test calls its check, which says 'passed' when the task is solved.
        assert f">>> checks.{name}(" in text and "\\n'passed'" in text
        assert callable(getattr(checks, name))
    assert sorted(p.stem for p in (AUTOGRADER / "tests").glob("*.py")) == sorted(names)


@pytest.mark.skipif(not SOURCE.exists(), reason="a class repository handed out without the teacher's copy")
def test_the_student_gets_the_prompts_and_a_check_per_task_never_the_solutions() -> None:
    built = handout.build(SOURCE)
    code = [cell.source for cell in built.student.cells if cell.cell_type == "code"]
    text = "\n".join(cell.source for cell in built.student.cells)
    for marker in ("SOLUTION", "PROMPT", "ASSIGNMENT CONFIG"):
        assert marker not in text, marker
    for answer in ("idempotency=", "on_failure=", "ctx.group.parallel", "step.invoke", "wait_for_event"):
        assert not any(answer in source for source in code), answer  # the hints may name them
    assert sum("# TODO" in source for source in code) == len(built.tests)
    assert [s for s in code if s.startswith("grader.check(")] == [f'grader.check("{n}")' for n in built.tests]
    # The tests travel inside the notebook, so it works alone (Binder, Colab, a download).
    assert set(built.student.metadata["otter"]["tests"]) == set(built.tests)


def test_a_changed_student_notebook_is_never_overwritten(tmp_path: Path) -> None:
    source = cut(["replay"], tmp_path / "exercises.py")
    student, out = tmp_path / "exercises.ipynb", tmp_path / "autograder"
    assert handout.write(source=source, student_path=student, out=out).startswith("wrote exercises.ipynb")
    # Untouched (run, saved): handed out again without asking.
    notebook = nbformat.read(student, as_version=4)
    notebook.cells[0].outputs = [nbformat.v4.new_output("stream", text="ran\n")]
    nbformat.write(notebook, student)
    handout.write(source=source, student_path=student, out=out)
    # A student's edit: left alone, with a sentence that asks for no command that would lose it.
    notebook = nbformat.read(student, as_version=4)
    notebook.cells[-1].source += "\n# my answer"
    nbformat.write(notebook, student)
    with pytest.raises(handout.HandoutError, match="has changed since it was handed out") as refused:
        handout.write(source=source, student_path=student, out=out)
    assert "make" not in str(refused.value) and "FORCE" not in str(refused.value)
    assert "# my answer" in nbformat.read(student, as_version=4).cells[-1].source
    handout.write(force=True, source=source, student_path=student, out=out)
    assert "# my answer" not in nbformat.read(student, as_version=4).cells[-1].source


def test_make_handout_says_why_it_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing.py"
    with pytest.raises(handout.HandoutError, match="the handout is built from the teacher's copy"):
        handout.write(source=missing, student_path=tmp_path / "x.ipynb", out=tmp_path / "a")
