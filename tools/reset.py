"""`make reset`: clear every stack's state between two classes; never a notebook.

    python3 tools/reset.py [FOLDER ...]      (default: the repository this script is in)

A stack keeps its state in a `.learninngest/` folder beside the process that started it:
the repository root for `make run`, `notebooks/` for a notebook's kernel, and another
folder for a kernel started elsewhere (the engine's runs and events, the result store,
logs, the browser tests' screenshots). `notebooks/output/` holds the results notebook's
tables. This removes all of them under each FOLDER, and nothing else: the notebooks, the
students' exercises, `.env` and `.venv` stay as they are.

It refuses while a running process still has a file open in one of them (a `make run`, a
kernel's stack): deleting a database under a running engine would leave it writing to a
file nobody can see. Stop those first. Plain standard library: it runs before any .venv.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

STATE_FOLDER = ".learninngest"
OUTPUT_FOLDER = Path("notebooks") / "output"
# Never looked into: the virtual environment, git's data, npm's packages.
SKIPPED = {".venv", ".git", "node_modules", "__pycache__"}
NOTEBOOK_SUFFIXES = {".ipynb", ".py"}


def state_folders(root: Path) -> Iterator[Path]:
    """Every folder of stack state under root (the folders themselves, not their contents)."""
    for folder, subfolders, _files in os.walk(root):
        here = Path(folder)
        for name in sorted(subfolders):
            if name == STATE_FOLDER:
                yield here / name
        subfolders[:] = [name for name in subfolders if name not in SKIPPED and name != STATE_FOLDER]
    output = root / OUTPUT_FOLDER
    if output.is_dir():
        yield output


def notebooks_inside(folder: Path) -> list[Path]:
    """Files that look like someone's work: never deleted, even inside a state folder."""
    return sorted(p for p in folder.rglob("*") if p.suffix in NOTEBOOK_SUFFIXES and p.is_file())


def processes_using(folders: list[Path]) -> list[tuple[int, str]]:
    """Running processes with a file open under one of the folders (Linux /proc; elsewhere none found).

    Other users' processes cannot be looked into and are not listed.
    """
    resolved = [str(folder.resolve()) + os.sep for folder in folders]
    found: list[tuple[int, str]] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            targets = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or another user's
            continue
        if any(target.startswith(prefix) for target in targets for prefix in resolved):
            found.append((int(entry.name), command.strip()))
    return found


def reset(roots: list[Path], *, out: list[str]) -> int:
    """Remove the state folders under roots; return the exit status, appending what it says to out."""
    folders = [folder for root in roots for folder in state_folders(root)]
    busy = processes_using(folders)
    if busy:
        out.append("error: a running stack still uses this state; stop it first, then run make reset again:")
        out.extend(f"  pid {pid}: {command}" for pid, command in busy)
        out.append("  (Ctrl-C the `make run`; in JupyterLab: Kernel → Shut Down Kernel, for every notebook)")
        return 1
    removed = 0
    for folder in folders:
        kept = notebooks_inside(folder)
        if kept:
            out.append(f"kept {folder}: it holds notebooks or scripts ({', '.join(map(str, kept[:3]))})")
            continue
        shutil.rmtree(folder)
        out.append(f"removed {folder}")
        removed += 1
    out.append(
        f"{removed} state folder(s) removed; notebooks untouched" if folders else "no stack state found"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("folders", nargs="*", type=Path, help="where to look (default: this repository)")
    args = parser.parse_args(argv)
    roots = args.folders or [Path(__file__).resolve().parent.parent]
    missing = [str(root) for root in roots if not root.is_dir()]
    if missing:
        print(f"error: not a folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    lines: list[str] = []
    status = reset(roots, out=lines)
    print("\n".join(lines), file=sys.stderr if status else sys.stdout)
    return status


if __name__ == "__main__":
    sys.exit(main())
