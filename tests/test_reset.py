"""`make reset` between two classes: every stack's state goes, every notebook stays."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.test_cli import running_up

ROOT = Path(__file__).resolve().parents[1]


def make_reset(*roots: Path) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make")
    assert make, "make is needed to test the Makefile"
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    return subprocess.run(
        [make, "--no-print-directory", "reset", f"STATE_ROOTS={' '.join(map(str, roots))}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_reset_removes_every_state_folder_and_keeps_every_notebook(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    state = [
        write(clone / ".learninngest" / "results.db"),  # make run
        write(clone / ".learninngest" / "screenshots" / "chat.png"),  # the browser tests
        write(clone / "notebooks" / ".learninngest" / "engine.db"),  # a notebook's kernel
        write(clone / "notebooks" / "output" / "results.csv"),  # results.ipynb's tables
        write(clone / "class" / "ana" / ".learninngest" / "engine.db"),  # a kernel started elsewhere
    ]
    work = [
        write(clone / "notebooks" / "exercises.ipynb", '{"cells": ["my answer"]}'),
        write(clone / "notebooks" / "learning.ipynb", '{"cells": ["my notes"]}'),
        write(clone / "notebooks" / ".ipynb_checkpoints" / "exercises-checkpoint.ipynb"),
        write(clone / "notebooks" / "exercises.py", "# my answer, paired"),
        write(clone / ".env", "OFFLINE_SEED=3"),
        write(clone / ".venv" / "lib" / ".learninngest" / "not-ours"),  # never looked into
    ]
    before = {name: digest for name, digest in snapshot(clone).items() if clone / name in work}

    proc = make_reset(clone)

    assert proc.returncode == 0, proc.stderr
    assert not any(path.exists() for path in state)
    assert not (clone / ".learninngest").exists() and not (clone / "notebooks" / "output").exists()
    assert snapshot(clone) == before  # everything else, byte for byte
    assert proc.stdout.splitlines()[-1] == "4 state folder(s) removed; notebooks untouched"
    # Nothing left: a second reset says so.
    assert make_reset(clone).stdout.strip() == "no stack state found"


def test_a_state_folder_holding_a_notebook_is_kept(tmp_path: Path) -> None:
    saved = write(tmp_path / ".learninngest" / "draft.ipynb", "{}")
    proc = make_reset(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert saved.exists()
    assert proc.stdout.startswith(f"kept {tmp_path / '.learninngest'}: it holds notebooks")


@pytest.mark.timeout(240)  # two stacks start on a busy machine
def test_reset_refuses_while_a_stack_runs_then_clears_its_runs_and_results(tmp_path: Path) -> None:
    with running_up(tmp_path) as up:
        base = f"http://127.0.0.1:{up.port}"
        accepted = httpx.post(
            f"{base}/api/v1/chat", json={"query": "What is the capital of France?"}, timeout=30
        )
        assert accepted.status_code == 202, accepted.text
        request_id, (event_id,) = accepted.json()["request_id"], accepted.json()["event_ids"]
        done = httpx.get(f"{base}/api/v1/chat/result/{request_id}", params={"wait": 20}, timeout=30)
        assert done.json()["status"] == "done"
        assert httpx.get(f"http://127.0.0.1:{up.engine_port}/v1/events/{event_id}").status_code == 200

        refused = make_reset(tmp_path)
        assert refused.returncode != 0
        assert "a running stack still uses this state; stop it first" in refused.stderr
        assert f"pid {up.proc.pid}: " in refused.stderr  # names the process to stop
        assert (tmp_path / ".learninngest" / "results.db").exists()

        up.proc.send_signal(signal.SIGINT)
        assert up.proc.wait(60) == 0

    proc = make_reset(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"removed {tmp_path / '.learninngest'}",
        "1 state folder(s) removed; notebooks untouched",
    ]
    # The next class starts from nothing: the old request and its event are unknown.
    with running_up(tmp_path) as up:
        base = f"http://127.0.0.1:{up.port}"
        assert httpx.get(f"{base}/api/v1/chat/result/{request_id}").status_code == 404
        assert httpx.get(f"http://127.0.0.1:{up.engine_port}/v1/events/{event_id}").status_code == 404
