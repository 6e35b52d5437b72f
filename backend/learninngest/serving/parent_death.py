"""Stop when the process that started us dies, even by SIGKILL (Linux).

`learninngest up` starts the engine as a child. Ctrl-C and SIGTERM stop it through `up`,
but a SIGKILLed `up` runs no clean-up, so the child asks the kernel for a SIGTERM when its
parent goes (prctl PR_SET_PDEATHSIG). Stdlib only: the engine process imports it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

PARENT_PID_ENV = "LEARNINNGEST_PARENT_PID"
"""Set by the parent to its pid; the child follows that parent only when it is set."""
_PR_SET_PDEATHSIG = 1

log = logging.getLogger("learninngest")


def env_for_child() -> dict[str, str]:
    """The environment to start a child with that should stop when this process dies."""
    return {**os.environ, PARENT_PID_ENV: str(os.getpid())}


def follow_parent() -> bool:
    """Ask for SIGTERM when the parent dies. True when armed (Linux, started by a parent)."""
    parent = os.environ.pop(PARENT_PID_ENV, "")
    if not parent.isdigit() or not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        log.warning("cannot follow the parent process (prctl errno %s)", ctypes.get_errno())
        return False
    if os.getppid() != int(parent):  # it died before we asked: nobody will send the signal
        os.kill(os.getpid(), signal.SIGTERM)
    return True
