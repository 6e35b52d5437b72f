"""A notebook section that says it runs on its own does: results.ipynb's "Read a previous run".

Its text promises that after the first cell it can be run alone to study saved runs; a
kernel in a folder of its own runs exactly those cells (no stack, no batch).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
COLUMNS = ["request_id", "question", "expected", "answer", "received_at", "run_start", "run_end"]
COLUMNS += ["enqueue_ms", "queue_wait_ms", "model_ms", "total_ms", "attempts", "tokens"]


def section(notebook: nbformat.NotebookNode, heading: str, until: str) -> list[nbformat.NotebookNode]:
    """The code cells after the markdown cell starting with `heading`, up to the one starting with `until`."""
    cells, inside = [], False
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            if cell.source.startswith(heading):
                inside = True
            elif cell.source.startswith(until):
                break
        elif inside:
            cells.append(cell)
    assert cells, f"no code cells between {heading!r} and {until!r}"
    return cells


def run_alone(folder: Path) -> list[str]:
    """The first cell and the section, in a fresh kernel whose working folder is `folder`."""
    notebook = nbformat.read(NOTEBOOKS / "results.ipynb", as_version=4)
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    cells = [first, *section(notebook, "## Read a previous run", "## Stop the stack")]
    alone = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.source) for c in cells])
    NotebookClient(
        alone, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return [
        out.get("text", "") or str(out.get("data", {}).get("text/plain", ""))
        for cell in alone.cells
        for out in cell.outputs
    ]


def saved_run(folder: Path, name: str, total_ms: list[float]) -> None:
    rows = [dict.fromkeys(COLUMNS, 1) | {"total_ms": t} for t in total_ms]
    (folder / "output").mkdir(exist_ok=True)
    pd.DataFrame(rows, columns=COLUMNS).to_csv(folder / "output" / name, index=False)


def test_reading_saved_runs_needs_only_the_first_cell(tmp_path: Path) -> None:
    saved_run(tmp_path, "results-20250101-090000.csv", [100.0, 300.0])
    saved_run(tmp_path, "results-20250102-090000.csv", [200.0, 400.0, 600.0])
    printed = "\n".join(run_alone(tmp_path))
    assert "read results-20250102-090000.csv: 3 requests" in printed
    assert "read results-20250101-090000.csv: 2 requests" in printed
    assert "'the saved run reads back'" in printed
