"""A state folder of the stack's own: two stacks started in one folder never share a file.

A stack with file state (the engine's SQLite file, the result store's) keeps it in
`.learninngest/` under the folder it was started in. Two kernels on one JupyterHub host
(two students, or one student's two notebooks) may start in the same folder: each stack
holds a lock on the folder it uses, and a stack that finds `.learninngest/` locked takes
`.learninngest/stack-2/`, then `stack-3/`… The first stack in a folder keeps using
`.learninngest/` itself, so a lone stack finds its state where it left it.

The lock is an advisory `flock` on `stack.lock`, held by an open file: the kernel
releases it in `down()` and the operating system when the process ends, however it ends,
so a crashed kernel never leaves a folder claimed. Without `fcntl` (Windows) every stack
uses `.learninngest/`, as before.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(".learninngest")
LOCK_NAME = "stack.lock"
MAX_STACKS = 64


class StateFolderError(RuntimeError):
    """No state folder could be claimed; the message says what to do."""


@dataclass
class StateFolder:
    path: Path
    _lock: IO[str] | None

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file drops its flock
            self._lock = None


def candidates(root: Path = ROOT) -> list[Path]:
    return [root] + [root / f"stack-{n}" for n in range(2, MAX_STACKS + 1)]


def claim(root: Path = ROOT) -> StateFolder:
    """The first folder of `candidates(root)` no other live stack holds, locked for this one."""
    if sys.platform == "win32":
        return StateFolder(root, None)
    import fcntl

    for folder in candidates(root):
        folder.mkdir(parents=True, exist_ok=True)
        lock = (folder / LOCK_NAME).open("a+", encoding="utf-8")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")  # who holds it, for a person looking at the folder
        lock.flush()
        return StateFolder(folder, lock)
    raise StateFolderError(
        f"{MAX_STACKS} stacks already keep their state under {root.resolve()}: stop some "
        "(kit.down() in their notebooks), or give this one its own ENGINE_DB and RESULT_STORE_URL."
    )
