"""parent_death.follow_parent: a child started with env_for_child() stops when its parent dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from learninngest.serving.parent_death import PARENT_PID_ENV, follow_parent
from tests.support import wait_until

CHILD = """
import time
from learninngest.serving.parent_death import follow_parent
print(follow_parent(), flush=True)
time.sleep(120)
"""
PARENT = f"""
import subprocess, sys, time
from learninngest.serving.parent_death import env_for_child
child = subprocess.Popen([sys.executable, "-c", {CHILD!r}], env=env_for_child(), stdout=sys.stdout)
print(child.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux-only")
def test_the_child_stops_when_its_parent_is_sigkilled(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with out.open("w") as sink:
        parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=sink, start_new_session=True)
    try:
        wait_until(lambda: len(out.read_text().split()) == 2, timeout=60)
        pid, armed = out.read_text().split()
        print("child", pid, "armed:", armed)
        assert armed == "True"
        parent.kill()
        parent.wait(30)
        wait_until(lambda: _gone(int(pid)), timeout=60)
    finally:
        if _alive_group(parent.pid):  # the test failed midway: nothing it started stays
            os.killpg(parent.pid, signal.SIGKILL)


def test_without_the_variable_nothing_is_armed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PARENT_PID_ENV, raising=False)
    assert follow_parent() is False


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "zombie" in status


def _alive_group(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
