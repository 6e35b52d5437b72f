"""The teacher's source of the exercises, and smaller sources cut from it for quick tests."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SOURCE = NOTEBOOKS / "teacher" / "exercises.py"


def cut(tasks: list[str], to: Path) -> Path:
    """The source with only `tasks` (and its set-up and closing cells), written to `to`."""
    notebook = jupytext.read(SOURCE)
    kept, current = [], None
    for cell in notebook.cells:
        lines = cell.source.strip().splitlines() if cell.cell_type == "raw" else []
        if lines and lines[0] == "# BEGIN QUESTION":
            current = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("name:"))
        if current is None or current in tasks:
            kept.append(cell)
        if lines and lines[0] == "# END QUESTION":
            current = None
    jupytext.write(nbformat.v4.new_notebook(cells=kept, metadata=notebook.metadata), to, fmt="py:percent")
    return to
