"""Stopping a child process: SIGTERM, a grace period, then SIGKILL. Stdlib only."""

from __future__ import annotations

import subprocess
from typing import Any


def stop_child(proc: subprocess.Popen[Any], grace_s: float = 10.0) -> None:
    """Ask it to stop; kill it if it has not ended within `grace_s`. Reaped either way."""
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
