"""`make handout`: the exercises as handed out, built by otter-grader from the teacher's copy.

The source is notebooks/teacher/exercises.py (otter assign's format: each task a question,
its solution with the prompt a student starts from, its test). This module turns it into
an otter master notebook, runs `otter assign` on it, and writes

- notebooks/exercises.ipynb: the student's notebook (prompts instead of solutions, a
  `grader.check(...)` cell per task, the tests inside it so it works anywhere alone);
- notebooks/autograder/tests/<task>.py: the tests `make exercises` and `make grade` use,
  whatever a student did to the check cells; one file per task handed out;
- notebooks/autograder/HANDOUT: the tasks in their order, and a fingerprint of the
  handed-out cells.

A notebooks/exercises.ipynb whose cells no longer match that fingerprint holds a
student's work: it is never overwritten (unless `force`), so running this by mistake
loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import pprint
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

NOTEBOOKS = Path("notebooks")  # `make handout` runs from the repository's root
SOURCE = NOTEBOOKS / "teacher" / "exercises.py"
STUDENT = NOTEBOOKS / "exercises.ipynb"
AUTOGRADER = NOTEBOOKS / "autograder"
PASSED = "'passed'"  # what every check returns when the task is solved (kit/checks/base.py)


class HandoutError(RuntimeError):
    """The handout could not be written; the message says why and what to do."""


def fingerprint(notebook: nbformat.NotebookNode) -> str:
    """The cells' kinds and sources: running or saving a notebook does not change it, editing does."""
    cells = [[cell.cell_type, cell.source] for cell in notebook.cells]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def master(source: Path = SOURCE) -> nbformat.NotebookNode:
    """The teacher's copy as otter's master notebook: each test cell's expected output is 'passed'."""
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    in_tests = False
    for cell in notebook.cells:
        if cell.cell_type == "raw":
            first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            in_tests = {"# BEGIN TESTS": True, "# END TESTS": False}.get(first, in_tests)
        elif cell.cell_type == "code" and in_tests:
            # otter takes a test cell's output as the doctest's expected output.
            cell.outputs = [
                nbformat.v4.new_output("execute_result", {"text/plain": PASSED}, execution_count=1)
            ]
    return notebook


@dataclass(frozen=True)
class Handout:
    student: nbformat.NotebookNode  # prompts instead of solutions
    solved: nbformat.NotebookNode  # otter's autograder copy: the same cells, solutions in place
    tests: dict[str, str]  # task name -> its test file's text, in the order of the tasks


def questions(source: Path = SOURCE) -> list[str]:
    """The tasks' names in the order the source asks them (its `# BEGIN QUESTION` cells)."""
    names = []
    for cell in jupytext.read(source).cells:
        lines = cell.source.strip().splitlines() if cell.cell_type == "raw" else []
        if lines and lines[0] == "# BEGIN QUESTION":
            names += [line.split(":", 1)[1].strip() for line in lines if line.startswith("name:")]
    return names


def build(source: Path = SOURCE) -> Handout:
    """Run otter assign on the source: the student's notebook, a solved one, each task's test."""
    from otter.assign import main as assign

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "exercises.ipynb"
        nbformat.write(master(source), path)
        assign(str(path), str(Path(tmp) / "dist"), no_pdfs=True, no_run_tests=True)
        student = nbformat.read(Path(tmp) / "dist" / "student" / "exercises.ipynb", as_version=4)
        graded = nbformat.read(Path(tmp) / "dist" / "autograder" / "exercises.ipynb", as_version=4)
    tests = graded.metadata["otter"]["tests"]
    files = {
        name: f"OK_FORMAT = True\n\ntest = {pprint.pformat(tests[name], width=100)}\n"
        for name in questions(source)
    }
    return Handout(student, graded, files)


def write(
    force: bool = False, source: Path = SOURCE, student_path: Path = STUDENT, out: Path = AUTOGRADER
) -> str:
    """Write the handout and the tests; refuse to replace a student's changed notebook."""
    if not source.exists():
        raise HandoutError(f"no {source}: the handout is built from the teacher's copy of the exercises")
    handout = build(source)
    student, tests = handout.student, handout.tests
    stamp = out / "HANDOUT"
    if student_path.exists() and not force:
        current = fingerprint(nbformat.read(student_path, as_version=4))
        handed_out = _stamp(stamp).get("fingerprint")
        if current not in (fingerprint(student), handed_out):
            raise HandoutError(
                f"{student_path} has changed since it was handed out (a student's work?), so it is "
                "left as it is. To hand out the new version, move that notebook elsewhere first."
            )
    if out.exists():
        shutil.rmtree(out / "tests", ignore_errors=True)
    (out / "tests").mkdir(parents=True, exist_ok=True)
    for name, text in tests.items():
        (out / "tests" / f"{name}.py").write_text(text)
    nbformat.write(student, student_path)
    stamp.write_text(json.dumps({"tasks": list(tests), "fingerprint": fingerprint(student)}, indent=1) + "\n")
    return f"wrote {student_path.name} and {len(tests)} tests in {out.name}/tests"


def _stamp(path: Path) -> dict[str, object]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return {}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        print(write(force="--force" in args))
    except HandoutError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
