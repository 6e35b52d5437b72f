"""Grade exercises notebooks with otter-grader, against the tests of every task handed out.

    python -m learninngest.kit.grade notebooks/exercises.ipynb          # `make exercises`
    python -m learninngest.kit.grade submissions/*.ipynb --csv grades.csv   # `make grade`

Each notebook is executed top to bottom in a fresh kernel (errors allowed, so one broken
task hides no other); otter then runs, after the notebook, the test of every task in
notebooks/autograder/tests/ whose check the notebook did not run itself, so a missing or
emptied check cell neither skips its task nor shrinks the total. Exits 1 while any task
of any notebook fails (a class repository's CI runs `make exercises`).
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

TESTS = Path("notebooks") / "autograder" / "tests"


@dataclass(frozen=True)
class Outcome:
    task: str  # the test's name: replay, retries...
    passed: bool
    message: str  # "passed", the check's "NotYet: ..." sentence, or the error the test met


def _message(report: str) -> str:
    """The check's value from otter's doctest report ("Got: 'NotYet: ...'"), else its last line."""
    lines = [line.strip() for line in report.strip().splitlines() if line.strip()]
    if "Got:" in lines and lines.index("Got:") + 1 < len(lines):
        said = lines[lines.index("Got:") + 1]
        try:
            value = ast.literal_eval(said)
        except (ValueError, SyntaxError):
            return said
        return str(value)
    return lines[-1] if lines else "failed"


def tests_in(tests: Path) -> list[Path]:
    """The tasks' test files, in the order they were handed out (HANDOUT beside the folder)."""
    found = {p.stem: p for p in tests.glob("*.py")}
    if not found:
        raise FileNotFoundError(f"no tests in {tests}: run `make handout` (the teacher) first")
    stamp = tests.parent / "HANDOUT"
    order = json.loads(stamp.read_text())["tasks"] if stamp.exists() else []
    return [found[name] for name in order if name in found] + [
        found[name] for name in sorted(found) if name not in order
    ]


def grade(notebook: Path, tests: Path = TESTS) -> list[Outcome]:
    """Execute the notebook and run every task's test; one outcome per test file, in name order."""
    from otter.execute import grade_notebook

    files = tests_in(tests)
    results = grade_notebook(
        str(notebook.resolve()),
        tests_glob=[str(f.resolve()) for f in files],
        test_dir=str(tests.resolve()),
        cwd=str(notebook.resolve().parent),
        ignore_errors=True,
    )
    outcomes = []
    for f in files:
        name = f.stem
        result = results.results.get(name)
        if result is None:
            outcomes.append(Outcome(name, False, "its test did not run (the notebook stopped early?)"))
        elif result.passed_all:
            outcomes.append(Outcome(name, True, "passed"))
        else:
            said = [r.message or "" for r in result.test_case_results if not r.passed]
            outcomes.append(Outcome(name, False, _message(said[0] if said else result.summary())))
    return outcomes


def report(outcomes: list[Outcome]) -> str:
    lines = [
        f"{n:>2}. {o.task:<16} {'ok ' if o.passed else 'NOT'} {o.message}" for n, o in enumerate(outcomes, 1)
    ]
    done = sum(o.passed for o in outcomes)
    return "\n".join([*lines, f"{done} of {len(outcomes)} tasks pass"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m learninngest.kit.grade", description=__doc__.splitlines()[0]
    )
    parser.add_argument("notebooks", nargs="+", type=Path, help="the notebooks to grade")
    parser.add_argument("--tests", type=Path, default=TESTS, help=f"the tasks' tests (default {TESTS})")
    parser.add_argument("--csv", type=Path, help="also write one row per notebook: points per task, total")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        print(f"no notebook at {', '.join(missing)}: give the path of an exercises notebook", file=sys.stderr)
        return 2
    try:
        tests_in(args.tests)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    graded = {}
    for notebook in args.notebooks:
        outcomes = grade(notebook, args.tests)
        graded[notebook] = outcomes
        heading = f"{notebook}\n" if len(args.notebooks) > 1 else ""
        print(heading + report(outcomes), flush=True)
    if args.csv:
        with args.csv.open("w", newline="") as f:
            writer = csv.writer(f)
            tasks = [o.task for o in next(iter(graded.values()))]
            writer.writerow(["notebook", *tasks, "total", "possible"])
            for notebook, outcomes in graded.items():
                points = [int(o.passed) for o in outcomes]
                writer.writerow([str(notebook), *points, sum(points), len(points)])
    return 0 if all(o.passed for outcomes in graded.values() for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
