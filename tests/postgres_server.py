"""A real PostgreSQL on 127.0.0.1 and a free port, for the tests that need one.

Like tests/redis_server.py: `initdb` + `pg_ctl` in a temporary folder, never a mock, so the
store suite checks transactions, ON CONFLICT and LISTEN/NOTIFY as PostgreSQL does them.
The binaries come from PATH or from Debian's /usr/lib/postgresql/<version>/bin.
PostgreSQL refuses to run as root: when the tests run as root (CI does), the server runs
as the `postgres` user Debian's package creates (or `nobody`).
`pg_ctl` detaches the server, so it would outlive a killed pytest: besides the fixture's own
stop, an atexit hook and a watchdog process (which stops it when pytest's end of a pipe closes,
however pytest ends, even SIGKILL) stop it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import free_port

USER = "learninngest"


def postgres_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    return str(versions[-1]) if versions else None


def _run_as() -> list[str]:
    """The prefix that runs a command as a non-root user when we are root."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"]
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


def _owner_ids() -> tuple[int, int] | None:
    prefix = _run_as()
    if not prefix:
        return None
    entry = pwd.getpwnam(prefix[2])
    return entry.pw_uid, entry.pw_gid


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL for the whole session (trust auth on loopback, own port)."""
    initdb, pg_ctl = postgres_binary("initdb"), postgres_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL (initdb, pg_ctl) not installed; CI installs Debian's postgresql")
    # Not tmp_path: pytest's folders are private to root, and the server may run as another user.
    folder = Path(tempfile.mkdtemp(prefix="learninngest-pg-"))
    data, log_path = folder / "data", folder / "postgres.log"
    ids = _owner_ids()
    if ids is not None:
        os.chown(folder, *ids)
    prefix = _run_as()
    port = free_port()
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder} -c fsync=off"
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-l", str(log_path), "-o", options, "-w", "-t", "30", "start"],
            check=True,
            capture_output=True,
        )
    except subprocess.CalledProcessError as exc:
        log = log_path.read_text() if log_path.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr.decode()}\n{log}") from exc
    stop = [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]
    # A raw pipe: only this process holds its write end (not inheritable), so the kernel closes
    # it when pytest ends, however it ends.
    read_end, write_end = os.pipe()
    watchdog = subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(folder), *stop],
        stdin=read_end,
        start_new_session=True,  # a Ctrl-C of pytest's group must not stop it before pytest ends
    )
    os.close(read_end)

    def stop_server() -> None:
        subprocess.run(stop, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop_server)
    try:
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        watchdog.kill()
        watchdog.wait()
        os.close(write_end)
        stop_server()
        atexit.unregister(stop_server)


# Run by the watchdog: wait for EOF on stdin (pytest's end closes when pytest exits, any way),
# then stop the server and remove its folder.
_WATCHDOG = """
import shutil, subprocess, sys
sys.stdin.buffer.read()
subprocess.run(sys.argv[2:], capture_output=True)
shutil.rmtree(sys.argv[1], ignore_errors=True)
"""


def wait_until_accepting(url: str, timeout: float = 15) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
