"""Run a student's exercises notebook top to bottom and list, per check, passed or what is wrong.

`make exercises` (or `python -m learninngest.kit.grade notebooks/exercises.ipynb`) is the
teacher's tool and a class repository's CI step: it exits 1 while any check fails. A check
cell is a code cell that calls `checks.<name>(...)`; every cell runs even after a failure,
so one unsolved task does not hide the others.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CHECK_CALL = re.compile(r"^checks\.(\w+)\(", re.MULTILINE)


@dataclass(frozen=True)
class Outcome:
    check: str  # the check function's name: two_steps, retries...
    passed: bool
    message: str  # "passed: ..." or the error's sentence


def _outcome(cell: nbformat.NotebookNode, check: str) -> Outcome:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return Outcome(check, False, f"{output['ename']}: {output['evalue']}")
    # The check's return value; log lines on stderr (a failed run's) are not its outcome.
    texts = [
        output["data"].get("text/plain", "")
        for output in cell.get("outputs", [])
        if output.get("output_type") == "execute_result"
    ]
    return Outcome(check, True, " ".join(_unquoted(t) for t in texts if t) or "passed")


def _unquoted(text: str) -> str:
    """A returned string is shown as its repr in the cell ('passed: ...'): show the string."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text.strip()
    return value if isinstance(value, str) else text.strip()


def grade(path: Path, timeout: float = 300.0) -> list[Outcome]:
    """Execute the notebook (in its folder, errors allowed) and read each check cell's outcome."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=int(timeout),
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    client.execute()
    outcomes = []
    for cell in notebook.cells:
        found = CHECK_CALL.search(cell.source) if cell.cell_type == "code" else None
        if found:
            outcomes.append(_outcome(cell, found.group(1)))
    return outcomes


def report(outcomes: list[Outcome]) -> str:
    lines = [
        f"{n}. {o.check:<16} {'ok ' if o.passed else 'NOT'} {o.message}" for n, o in enumerate(outcomes, 1)
    ]
    done = sum(o.passed for o in outcomes)
    return "\n".join([*lines, f"{done} of {len(outcomes)} exercises pass"])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m learninngest.kit.grade NOTEBOOK.ipynb", file=sys.stderr)
        return 2
    path = Path(args[0])
    if not path.is_file():
        print(f"no notebook at {path}: give the path of the exercises notebook", file=sys.stderr)
        return 2
    outcomes = grade(path)
    print(report(outcomes))
    return 0 if outcomes and all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
