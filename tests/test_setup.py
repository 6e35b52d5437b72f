"""Set-up on a learner's laptop: the Makefile checks Python first and repairs a bad .venv.

Fake interpreters (tiny sh scripts that report a version and record what they are asked
to do) stand in for Python 3.10 or 3.12, so these tests are fast and need no other Python.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / "tools" / "check_python.sh"

# Answers `-c` (version query) and `--version`; `-m venv DIR` makes a .venv whose python is
# this same fake; `-m pip ...` is recorded in $FAKE_LOG and does nothing.
FAKE_PYTHON = """#!/bin/sh
case "$1" in
  -c) echo {version} ;;
  --version) echo "Python {version}" ;;
  -m) echo "$*" >> "$FAKE_LOG"
      if [ "$2" = venv ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi ;;
esac
"""


def fake_python(path: Path, version: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FAKE_PYTHON.format(version=version))
    path.chmod(0o755)
    return path


def fake_venv(venv: Path, version: str | None) -> Path:
    """A .venv as a Python of `version` left it; None: its interpreter is gone."""
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"version = {version or '3.9.0'}\n")
    if version is not None:
        fake_python(venv / "bin" / "python", version)
    return venv


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """The only folder on PATH, besides the few tools the check uses: no real Python leaks in."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("cut", "rm", "mkdir", "cp", "touch", "sh"):
        found = shutil.which(name)
        assert found, name
        (tools / name).symlink_to(found)
    return tools


def environ(bin_dir: Path, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "PYTHON"}}
    return env | {"PATH": str(bin_dir), "FAKE_LOG": str(tmp_path / "calls.log")}


def check(
    bin_dir: Path, tmp_path: Path, python: str, origin: str = "file", goal: str = "run"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "sh"), str(CHECK), python, str(tmp_path / ".venv"), origin, goal],
        env=environ(bin_dir, tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_too_old_python_is_refused_naming_a_newer_one(bin_dir: Path, tmp_path: Path) -> None:
    fake_python(bin_dir / "python3", "3.10.12")
    fake_python(bin_dir / "python3.12", "3.12.4")
    proc = check(bin_dir, tmp_path, "python3")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "error: the kit needs Python 3.11 or newer, but PYTHON=python3 is Python 3.10.12.",
        "  Installed here: python3.12",
        "  Run:  make run PYTHON=python3.12",
    ]
    assert not (tmp_path / ".venv").exists()


def test_with_no_newer_python_it_says_how_to_get_one(bin_dir: Path, tmp_path: Path) -> None:
    fake_python(bin_dir / "python3", "3.10.12")
    proc = check(bin_dir, tmp_path, "python3", goal="test")
    assert proc.returncode == 1
    assert "sudo apt install python3.12 python3.12-venv" in proc.stderr
    assert proc.stderr.rstrip().endswith("then run:  make test PYTHON=python3.12")


def test_a_python_that_does_not_run_is_named(bin_dir: Path, tmp_path: Path) -> None:
    proc = check(bin_dir, tmp_path, "python3.13", origin="command line")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: PYTHON=python3.13 does not run here; the kit needs Python 3.11")


def test_a_venv_left_by_a_too_old_python_is_removed(bin_dir: Path, tmp_path: Path) -> None:
    # The first `make run` with Python 3.10 made .venv, then pip refused to install: without
    # the check every later run reused that .venv and failed the same way.
    fake_venv(tmp_path / ".venv", "3.10.12")
    fake_python(bin_dir / "python3", "3.12.4")
    proc = check(bin_dir, tmp_path, "python3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        f"removing {tmp_path / '.venv'}: it was made by Python 3.10.12, older than 3.11; "
        "it will be made again with python3 (Python 3.12.4)"
    )
    assert not (tmp_path / ".venv").exists()


def test_a_venv_whose_python_is_gone_is_removed(bin_dir: Path, tmp_path: Path) -> None:
    fake_venv(tmp_path / ".venv", None)
    fake_python(bin_dir / "python3", "3.11.9")
    proc = check(bin_dir, tmp_path, "python3")
    assert proc.returncode == 0, proc.stderr
    assert "its Python no longer runs" in proc.stdout
    assert not (tmp_path / ".venv").exists()


def test_a_good_venv_is_kept_whatever_python3_is_today(bin_dir: Path, tmp_path: Path) -> None:
    # Made once with `make run PYTHON=python3.12`; later a plain `make run` with an old python3.
    fake_venv(tmp_path / ".venv", "3.12.4")
    fake_python(bin_dir / "python3", "3.10.12")
    proc = check(bin_dir, tmp_path, "python3", origin="file")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert (tmp_path / ".venv" / "bin" / "python").exists()


def test_asking_for_another_python_rebuilds_the_venv(bin_dir: Path, tmp_path: Path) -> None:
    fake_venv(tmp_path / ".venv", "3.11.9")
    fake_python(bin_dir / "python3.12", "3.12.4")
    proc = check(bin_dir, tmp_path, "python3.12", origin="command line")
    assert proc.returncode == 0, proc.stderr
    assert "it was made by Python 3.11.9 and PYTHON=python3.12 is Python 3.12.4" in proc.stdout
    assert not (tmp_path / ".venv").exists()
    # The same minor version: nothing to do.
    fake_venv(tmp_path / ".venv", "3.12.1")
    assert check(bin_dir, tmp_path, "python3.12", origin="command line").stdout == ""


def test_asking_for_a_python_that_does_not_run_keeps_the_venv(bin_dir: Path, tmp_path: Path) -> None:
    fake_venv(tmp_path / ".venv", "3.11.9")
    proc = check(bin_dir, tmp_path, "python3.13", origin="command line")
    assert proc.returncode == 1
    assert "PYTHON=python3.13 does not run here" in proc.stderr
    assert (tmp_path / ".venv" / "bin" / "python").exists()


def test_the_minimum_is_pyprojects_requires_python() -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    script = CHECK.read_text()
    major, minor = re.fullmatch(r">=(\d+)\.(\d+)", requires).groups()  # type: ignore[union-attr]
    assert f"MIN_MAJOR={major}\n" in script and f"MIN_MINOR={minor} " in script


def make(bin_dir: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    make_bin = shutil.which("make")
    assert make_bin, "make is needed to test the Makefile"
    return subprocess.run(
        [make_bin, *args],
        cwd=ROOT,
        env=environ(bin_dir, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_stops_before_installing_with_a_too_old_python(bin_dir: Path, tmp_path: Path) -> None:
    fake_python(bin_dir / "python3", "3.10.12")
    proc = make(bin_dir, tmp_path, "run", f"VENV={tmp_path / '.venv'}")
    assert proc.returncode != 0
    assert "error: the kit needs Python 3.11 or newer, but PYTHON=python3 is Python 3.10.12." in proc.stderr
    assert not (tmp_path / ".venv").exists()
    assert not (tmp_path / "calls.log").exists()  # no venv made, no pip run


def test_make_rebuilds_a_bad_venv_and_says_what_it_does(bin_dir: Path, tmp_path: Path) -> None:
    venv = fake_venv(tmp_path / ".venv", "3.10.12")
    fake_python(bin_dir / "python3.12", "3.12.4")
    proc = make(bin_dir, tmp_path, "install", "PYTHON=python3.12", f"VENV={venv}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"removing {venv}: it was made by Python 3.10.12, older than 3.11; "
        "it will be made again with python3.12 (Python 3.12.4)",
        f"creating {venv} with python3.12 (Python 3.12.4)",
        f"installing development and tests into {venv} (the first time takes a few minutes)...",
        f"{venv} is ready for development and tests",
    ]
    calls = (tmp_path / "calls.log").read_text().splitlines()
    # pip shows its progress: only the pip upgrade is quiet.
    assert calls == [
        f"-m venv {venv}",
        "-m pip install -q --upgrade pip",
        "-m pip install -e .[dev]",
    ]
    # Up to date now: the next command only checks.
    again = make(bin_dir, tmp_path, "install", f"VENV={venv}")
    assert (again.returncode, again.stdout) == (0, "")


# A program of .venv/bin that only records how it was called, in $FAKE_LOG.
FAKE_PROGRAM = """#!/bin/sh
echo "${0##*/} $*" >> "$FAKE_LOG"
"""


def fake_programs(venv: Path, *recipes: str) -> None:
    """Every `$(BIN)/NAME` the recipes of these Makefile targets run, as a recording fake."""
    for target in recipes:
        for name in re.findall(r"\$\(BIN\)/([\w.-]+)", "\n".join(makefile_recipe(target))):
            if name != "python":
                (venv / "bin" / name).write_text(FAKE_PROGRAM)
                (venv / "bin" / name).chmod(0o755)


def makefile_recipe(target: str) -> list[str]:
    lines = (ROOT / "Makefile").read_text().split(f"\n{target}:", 1)[1].splitlines()[1:]
    return lines[: next(i for i, line in enumerate(lines) if not line.startswith("\t"))]


def calls_since_last_look(tmp_path: Path) -> tuple[list[str], list[str]]:
    """What pip was asked to install, and which programs ran; the log is emptied."""
    log = tmp_path / "calls.log"
    calls = log.read_text().splitlines() if log.exists() else []
    log.write_text("")
    installs = [call.split("install ", 1)[1] for call in calls if call.startswith("-m pip install")]
    programs = [call for call in calls if not call.startswith("-m ")]
    return installs, programs


def test_each_command_installs_only_what_it_needs_once(bin_dir: Path, tmp_path: Path) -> None:
    # `make run` must not pull in JupyterLab, selenium, ruff, psycopg…: the service's own
    # dependencies only; `make lab` and `make test` add their extras, and a command whose
    # level is installed (by itself or by a higher one) installs nothing.
    venv = fake_venv(tmp_path / ".venv", "3.12.4")
    fake_programs(venv, "run", "lab", "test")

    def make_ok(target: str) -> tuple[list[str], list[str]]:
        proc = make(bin_dir, tmp_path, target, f"VENV={venv}")
        assert proc.returncode == 0, proc.stderr
        return calls_since_last_look(tmp_path)

    assert make_ok("run") == (["-q --upgrade pip", "-e ."], ["learninngest up"])
    assert make_ok("run") == ([], ["learninngest up"])
    installs, programs = make_ok("lab")
    assert installs == ["-q --upgrade pip", "-e .[notebooks]"]
    assert programs[0].startswith("jupyter lab notebooks/")
    assert make_ok("run")[0] == [] and make_ok("lab")[0] == []
    assert make_ok("test")[0] == ["-q --upgrade pip", "-e .[dev]"]
    for target in ("run", "lab", "test", "lint", "install"):
        assert make_ok(target)[0] == [], target


def test_the_first_command_installs_the_levels_below_its_own(bin_dir: Path, tmp_path: Path) -> None:
    # `make test` first (CI, a fresh worktree): then `make run` and `make lab` need nothing.
    venv = fake_venv(tmp_path / ".venv", "3.11.9")
    fake_programs(venv, "run", "lab", "test")
    proc = make(bin_dir, tmp_path, "test", f"VENV={venv}")
    assert proc.returncode == 0, proc.stderr
    installs, programs = calls_since_last_look(tmp_path)
    assert installs == ["-q --upgrade pip", "-e .[dev]"]
    assert any(program.startswith("pytest") for program in programs)  # the recipe ran after it
    for target in ("run", "lab"):
        proc = make(bin_dir, tmp_path, target, f"VENV={venv}")
        assert proc.returncode == 0, proc.stderr
        assert calls_since_last_look(tmp_path)[0] == [], target


@pytest.mark.parametrize(("user_id", "allow_root"), [("0", True), ("1000", False)])
def test_make_lab_takes_a_port_and_allows_root(
    bin_dir: Path, tmp_path: Path, user_id: str, allow_root: bool
) -> None:
    proc = make(bin_dir, tmp_path, "-n", "lab", "LAB_PORT=8899", f"USER_ID={user_id}")
    assert proc.returncode == 0, proc.stderr
    command = next(line for line in proc.stdout.splitlines() if "jupyter lab" in line)
    assert command.startswith(".venv/bin/jupyter lab notebooks/ --port 8899")
    assert ("--allow-root" in command) == allow_root


@pytest.mark.timeout(150)  # JupyterLab takes seconds to start, more on a busy machine
def test_make_lab_serves_on_the_port_asked_for(tmp_path: Path) -> None:
    # A real JupyterLab: as root (containers, Binder) it starts only because of --allow-root.
    import signal

    import httpx

    from learninngest.kit.servers import free_port
    from tests.support import wait_for

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")  # its cookie and server files stay here
    with (tmp_path / "lab.log").open("w") as log:
        lab = subprocess.Popen(
            ["make", "lab", f"LAB_PORT={port}", "LAB_ARGS=--no-browser --ServerApp.port_retries=0"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make and jupyter in one group, stopped together below
        )
    try:
        version = wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/api").json()["version"], timeout=90)
        assert version
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait(15)
