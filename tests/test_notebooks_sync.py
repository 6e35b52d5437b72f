"""Each notebook equals its paired percent script, and was executed after the last edit.

The .py is the source a maintainer edits and reviews; the .ipynb is what a learner opens
and what nbval runs. `make notebooks` rebuilds the one from the other.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

from learninngest.kit import grade

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
# The exercises: teacher/exercises.py is the source of the handout, notebooks/exercises.ipynb
# (`make handout`), which is the student's to change; notebooks/exercises.py appears if
# JupyterLab pairs it. No test pins the student's copy beyond its check cells.
HANDOUT = NOTEBOOKS / "teacher" / "exercises.py"
SOLVED = NOTEBOOKS / "teacher" / "solutions.py"  # a class repository may delete it
STUDENT = NOTEBOOKS / "exercises.ipynb"
PAIRED = sorted(
    p
    for p in NOTEBOOKS.rglob("*.py")
    if p.read_text().startswith("# %%") and p not in (HANDOUT, STUDENT.with_suffix(".py"))
)


def name(path: Path) -> str:
    return str(path.relative_to(NOTEBOOKS))


def cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def test_every_notebook_has_its_script_and_every_script_its_notebook() -> None:
    assert PAIRED, "no percent scripts in notebooks/"
    notebooks = {
        p.with_suffix("")
        for p in NOTEBOOKS.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts and p != STUDENT
    }
    assert {p.with_suffix("") for p in PAIRED} == notebooks


@pytest.mark.parametrize("script", PAIRED, ids=name)
def test_notebook_cells_equal_the_script(script: Path) -> None:
    notebook = nbformat.read(script.with_suffix(".ipynb"), as_version=4)
    expected = cells(jupytext.read(script))
    actual = cells(notebook)
    for n, (want, got) in enumerate(zip(expected, actual, strict=False)):
        assert got == want, f"{script.name} cell {n} differs from the .ipynb: run `make notebooks`"
    assert len(actual) == len(expected), f"{script.name}: cell count differs: run `make notebooks`"


@pytest.mark.parametrize("script", PAIRED, ids=name)
def test_notebook_was_executed_in_order(script: Path) -> None:
    notebook = nbformat.read(script.with_suffix(".ipynb"), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(counts) + 1)), f"{name(script)[:-3]}.ipynb: run `make notebooks`"


def test_the_solved_copy_differs_only_in_the_cells_to_do() -> None:
    """A teacher edits both; every cell but the `# TODO` ones (and the title) must stay the same."""
    if not SOLVED.exists():
        return  # handed out without the solutions
    todo, done = cells(jupytext.read(HANDOUT)), cells(jupytext.read(SOLVED))
    assert len(todo) == len(done), f"{name(SOLVED)} has {len(done)} cells, {name(HANDOUT)} {len(todo)}"
    for n, (student, teacher) in enumerate(zip(todo, done, strict=True)):
        if "# TODO" in student[1]:
            assert "# SOLUTION" in teacher[1], f"{name(SOLVED)} cell {n}: mark the solution `# SOLUTION`"
        elif n > 0:
            assert student == teacher, f"{name(SOLVED)} cell {n} differs from {name(HANDOUT)}"


def test_the_students_notebook_has_the_handouts_check_cells() -> None:
    """`make handout` was run after the last edit of the checks, and a student kept them as given."""
    handed_out = [source for kind, source in cells(jupytext.read(HANDOUT)) if grade.CHECK_CALL.search(source)]
    student = {source for kind, source in cells(nbformat.read(STUDENT, as_version=4)) if kind == "code"}
    for check in handed_out:
        assert check in student, (
            f"{name(STUDENT)} lacks the check cell {check!r} as it was handed out: add a code cell "
            "with exactly that text back under its task, keeping your answers (not `make handout`, "
            "which rebuilds the whole notebook)"
        )
