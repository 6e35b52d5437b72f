"""The first ten minutes: `make run` needs only the service's own dependencies, and the first
request, as README gives it and as `learninngest up` prints it, works when pasted.

`make run` installs `pip install -e .`, no extra. The test builds that environment without
a download: a fresh venv whose site-packages links only the distributions pyproject's
dependencies pull in (their closure, read from the installed metadata), then runs
`learninngest up` from it and pastes the commands into bash against it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.test_cli import Up, running_up

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def closure(name: str) -> set[str]:
    """The distributions `pip install NAME` installs: NAME and its requirements, recursively."""
    seen: set[str] = set()
    pending: list[tuple[str, frozenset[str]]] = [(name, frozenset())]
    while pending:
        dist_name, extras = pending.pop()
        key = canonicalize_name(dist_name)
        dist = metadata.distribution(dist_name)
        seen.add(key)
        for line in dist.requires or []:
            req = Requirement(line)
            wanted = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if req.marker and not any(req.marker.evaluate(env) for env in wanted):
                continue
            if canonicalize_name(req.name) not in seen or req.extras:
                pending.append((req.name, frozenset(req.extras)))
    return seen


def service_venv(where: Path) -> Path:
    """A new venv holding only what `pip install -e .` would: links into the test's own."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    (site,) = where.glob("lib/python*/site-packages")
    for dist_name in sorted(closure("learninngest")):
        dist = metadata.distribution(dist_name)
        for top in sorted({Path(str(f)).parts[0] for f in dist.files or []} - {".."}):
            source, target = Path(str(dist.locate_file(top))), site / top
            if source.exists() and not target.exists():
                target.symlink_to(source)
    return where / "bin" / "python"


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    here = tmp_path_factory.mktemp("front-door")
    python = service_venv(here / "venv")
    with running_up(here, python=str(python)) as up:
        yield up


def paste(script: str, port: int) -> str:
    """Run what a newcomer pastes, against the test's stack instead of port 8000."""
    script = script.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    proc = subprocess.run(
        ["bash", "-c", "set -eo pipefail\n" + script], capture_output=True, text=True, timeout=90
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_services_venv_has_no_extra() -> None:
    names = closure("learninngest")
    for extra in ("jupyterlab", "selenium", "ruff", "psycopg", "pytest", "pandas", "matplotlib", "redis"):
        assert extra not in names, f"`make run` would install {extra}"


@pytest.mark.timeout(180)  # a stack starts on a busy machine
def test_up_runs_with_the_services_own_dependencies(up: Up) -> None:
    python = Path(up.proc.args[0])  # type: ignore[index]
    missing = subprocess.run([python, "-c", "import jupyterlab"], capture_output=True, timeout=60)
    assert missing.returncode != 0  # the test's venv really lacks the extras
    assert "Ctrl-C stops everything." in up.stdout()


@pytest.mark.timeout(180)
def test_the_readmes_first_request_works_as_pasted(up: Up) -> None:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), re.DOTALL)
    (first,) = [block for block in blocks if "id=$(curl" in block][:1]
    assert "<request_id>" not in first
    answer, _ = json.JSONDecoder().raw_decode(paste(first, up.port))
    assert answer["status"] == "done" and "Paris" in answer["content"]


@pytest.mark.timeout(180)
def test_the_request_up_prints_works_as_pasted(up: Up) -> None:
    printed = up.stdout().split("Try it:\n", 1)[1].split("\nOr open the chat page", 1)[0]
    out = paste(printed, up.port)
    result, end = json.JSONDecoder().raw_decode(out)  # curl prints the JSON with no newline
    stream = out[end:]
    assert result["status"] == "done"
    # The stream opens after the run ended (the long-poll waited for it): its `done` at once.
    assert "event: done" in stream and "Paris" in stream
