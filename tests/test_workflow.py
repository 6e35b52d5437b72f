"""The GitHub workflow a fork of the kit runs: valid for GitHub, and the same command as README.

check-jsonschema carries GitHub's workflow schema inside the package, so this runs offline.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "test.yml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_lines() -> list[str]:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["test"]["steps"]
    return [line.strip() for step in steps if "run" in step for line in step["run"].splitlines()]


def test_the_workflow_is_valid_for_github() -> None:
    proc = validate(WORKFLOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_broken_workflow_is_refused(tmp_path: Path) -> None:
    # The check really checks: a job without `runs-on` is what GitHub would reject.
    broken = tmp_path / "broken.yml"
    broken.write_text("name: test\non: push\njobs:\n  test:\n    steps:\n      - run: make test\n")
    proc = validate(broken)
    assert proc.returncode == 1
    assert "'runs-on' is a required property" in proc.stdout


def test_the_workflow_runs_make_test_like_the_readme() -> None:
    assert "make test" in run_lines()
    assert "\nmake test " in (ROOT / "README.md").read_text()  # the command README gives


def test_the_workflow_installs_what_ci_run_installs() -> None:
    ci_run = (ROOT / ".ci" / "run").read_text()
    installed = {word for line in run_lines() if "apt-get install" in line for word in shlex.split(line)[2:]}
    for package in ("redis-server", "postgresql"):
        assert f"install -y -qq {package}" in ci_run, package
        assert package in installed, package


def test_both_ci_paths_give_the_browser_tests_a_browser() -> None:
    # .ci/run installs Debian's packages; the workflow uses the Chrome GitHub's images ship,
    # through the variables tests/browser.py reads (Ubuntu's chromium is a snap).
    assert "apt-get install -y -qq chromium chromium-driver" in (ROOT / ".ci" / "run").read_text()
    lines = run_lines()
    for variable in ("CHROMIUM_BINARY", "CHROMEDRIVER"):
        assert any(line.startswith(f'echo "{variable}=') and "GITHUB_ENV" in line for line in lines)
        assert variable in (ROOT / "tests" / "browser.py").read_text()


def test_the_workflow_uses_the_oldest_python_the_kit_supports() -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["test"]["steps"]
    (setup,) = [step for step in steps if step.get("uses", "").startswith("actions/setup-python@")]
    assert requires == ">=" + setup["with"]["python-version"]


def test_a_class_repository_can_check_the_exercises() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["test"]["steps"]
    (step,) = [step for step in steps if step.get("run") == "make exercises"]
    assert step["if"] == "vars.CHECK_EXERCISES == 'true'"  # off unless a teacher turns it on
    assert "CHECK_EXERCISES" in (ROOT / "docs" / "teaching.md").read_text()  # the teacher's guide says so
