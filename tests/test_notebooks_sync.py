"""Each notebook equals its paired percent script, and was executed after the last edit.

The .py is the source a maintainer edits and reviews; the .ipynb is what a learner opens
and what nbval runs. `make notebooks` rebuilds the one from the other.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PAIRED = sorted(p for p in NOTEBOOKS.rglob("*.py") if p.read_text().startswith("# %%"))
# Handed to students clean: rebuilt by `make notebooks`, never executed (solutions/ holds the run copy).
HANDOUTS = {NOTEBOOKS / "exercises.py": NOTEBOOKS / "solutions" / "exercises.py"}


def name(path: Path) -> str:
    return str(path.relative_to(NOTEBOOKS))


def cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def test_every_notebook_has_its_script_and_every_script_its_notebook() -> None:
    assert PAIRED, "no percent scripts in notebooks/"
    notebooks = {p.with_suffix("") for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts}
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
    if script in HANDOUTS:
        assert not any(counts) and not any(cell.outputs for cell in code), f"{name(script)}: not executed"
        return
    assert counts == list(range(1, len(counts) + 1)), f"{name(script)[:-3]}.ipynb: run `make notebooks`"


@pytest.mark.parametrize(("handout", "solved"), HANDOUTS.items(), ids=lambda p: name(p))
def test_the_solved_copy_differs_only_in_the_cells_to_do(handout: Path, solved: Path) -> None:
    """A teacher edits both; every cell but the `# TODO` ones (and the title) must stay the same."""
    todo, done = cells(jupytext.read(handout)), cells(jupytext.read(solved))
    assert len(todo) == len(done), f"{name(solved)} has {len(done)} cells, {name(handout)} {len(todo)}"
    for n, (student, teacher) in enumerate(zip(todo, done, strict=True)):
        if "# TODO" in student[1]:
            assert "# SOLUTION" in teacher[1], f"{name(solved)} cell {n}: mark the solution `# SOLUTION`"
        elif n > 0:
            assert student == teacher, f"{name(solved)} cell {n} differs from {name(handout)}"
