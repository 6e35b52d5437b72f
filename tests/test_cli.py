"""The CLI: usage errors end with a --help hint; a port in use gives a one-line error."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from learninngest.cli import main
from learninngest.kit.servers import free_port, port_in_use
from tests.support import wait_for, wait_until


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "up" in capsys.readouterr().out


def test_unknown_command_hints_at_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["fly"])
    assert info.value.code == 2
    assert "Try 'learninngest --help' for help." in capsys.readouterr().err


def test_bad_port_hints_at_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--port", "eighty"])
    err = capsys.readouterr().err
    assert "invalid int value: 'eighty'" in err
    assert "Try 'learninngest serve --help' for help." in err


@pytest.mark.parametrize(("command", "flag"), [("serve", "--port"), ("up", "--port")])
def test_port_in_use_is_one_line_naming_the_flag(
    capsys: pytest.CaptureFixture[str], command: str, flag: str
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main([command, flag, str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: port {port} is already in use; pick another with {flag} PORT"


def test_settings_error_stops_start_up_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_RETRIES", "many")
    proc = subprocess.run(
        [sys.executable, "-m", "learninngest", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "WORKER_RETRIES" in proc.stderr


def test_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "learninngest", "--version"], capture_output=True, text=True, timeout=30
    ).stdout
    assert out.startswith("learninngest ")


@dataclass
class Up:
    """A `learninngest up` process, its ports and where its output goes."""

    proc: subprocess.Popen[bytes]
    port: int
    engine_port: int
    out: Path

    def stdout(self) -> str:
        return self.out.read_text()


@contextlib.contextmanager
def started_up(
    tmp_path: Path,
    *,
    sigint_ignored: bool = False,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    python: str = sys.executable,
) -> Iterator[Up]:
    """`learninngest up` in its own process group, just started (not yet ready).

    Whatever happens in the test, the group is killed at the end: no stack is left running.
    """
    port, engine_port = free_port(), free_port()
    command = [
        python,
        "-m",
        "learninngest",
        "up",
        "--port",
        str(port),
        "--engine-port",
        str(engine_port),
        *args,
    ]
    if sigint_ignored:
        # As a job started with `&` by a script (or by some CI runners) inherits it.
        command = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
    env = {**os.environ, "OFFLINE_LATENCY_MEAN_MS": "0", "PYTHONUNBUFFERED": "1", **(env or {})}
    out_path = tmp_path / "up.out"
    with out_path.open("wb") as out, (tmp_path / "up.err").open("wb") as err:
        proc = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=out, stderr=err, start_new_session=True
        )
    up = Up(proc, port, engine_port, out_path)
    try:
        yield up
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group may have ended by itself
            os.killpg(up.proc.pid, signal.SIGKILL)
        up.proc.wait(30)


@contextlib.contextmanager
def running_up(
    tmp_path: Path,
    *,
    sigint_ignored: bool = False,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    python: str = sys.executable,
) -> Iterator[Up]:
    """`learninngest up` (see started_up), ready: it said so and /readyz answers."""
    with started_up(tmp_path, sigint_ignored=sigint_ignored, env=env, args=args, python=python) as up:

        def ready() -> None:
            if up.proc.poll() is not None:
                pytest.fail(
                    f"learninngest up exited with {up.proc.returncode}: {(tmp_path / 'up.err').read_text()}"
                )
            # Printed once the stack is up, inside the block that turns Ctrl-C into a clean stop.
            assert "Ctrl-C stops everything." in up.stdout()
            httpx.get(f"http://127.0.0.1:{up.port}/readyz").raise_for_status()

        wait_for(ready, timeout=60, interval=0.1)
        yield up


def engine_children(pid: int) -> list[int]:
    """Child processes of `pid` running `learninngest engine` (Linux /proc)."""
    return children_running(pid, b"engine")


def children_running(pid: int, word: bytes) -> list[int]:
    """Child processes of `pid` with `word` as one of their arguments (Linux /proc)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if word in Path(f"/proc/{c}/cmdline").read_bytes().split(b"\0")]


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"  # gone between the two looks


@pytest.mark.timeout(150)  # start-up on a busy machine, then a clean stop
def test_up_serves_prints_the_urls_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    with running_up(tmp_path) as up:
        base = f"http://127.0.0.1:{up.port}"
        accepted = httpx.post(
            f"{base}/api/v1/chat", json={"query": "What is the capital of France?"}, timeout=30
        )
        assert accepted.status_code == 202, accepted.text
        result = httpx.get(f"{base}{accepted.json()['result_url']}", params={"wait": 20}, timeout=30).json()
        assert result["status"] == "done" and "Paris" in result["content"]
        # The chat page and the token stream are served by the same process.
        assert "LearnInngest chat" in httpx.get(f"{base}/").text
        stream = httpx.get(f"{base}/api/v1/chat/{result['request_id']}/stream", timeout=30)
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert "event: done" in stream.text and "Paris" in stream.text
        engines = engine_children(up.proc.pid)  # the engine runs in a process of its own
        assert len(engines) == 1
        up.proc.send_signal(signal.SIGINT)
        assert up.proc.wait(60) == 0
        assert not Path(f"/proc/{engines[0]}").exists() or "zombie" in _status(engines[0])
    out = up.stdout()
    assert f"swagger        http://127.0.0.1:{up.port}/docs" in out
    assert f"chat page      http://127.0.0.1:{up.port}/" in out
    assert f"dashboard      http://127.0.0.1:{up.engine_port}/" in out
    assert f"curl -s -X POST http://127.0.0.1:{up.port}/api/v1/chat" in out
    assert "stopping…" in out
    assert not port_in_use(up.port) and not port_in_use(up.engine_port)
    assert (tmp_path / ".learninngest" / "results.db").exists()


@pytest.mark.timeout(150)
def test_ctrl_c_stops_up_even_if_its_parent_ignores_sigint(tmp_path: Path) -> None:
    with running_up(tmp_path, sigint_ignored=True) as up:
        up.proc.send_signal(signal.SIGINT)
        assert up.proc.wait(60) == 0
    assert "stopping…" in up.stdout()
    assert not port_in_use(up.port) and not port_in_use(up.engine_port)


def test_engine_accepts_the_inngest_cli_dev_flags() -> None:
    from learninngest.cli import build_parser

    args = build_parser().parse_args(
        ["engine", "-u", "http://127.0.0.1:8000/api/inngest", "--no-discovery", "--no-poll", "-p", "9999"]
    )
    assert (args.app_urls, args.port, args.no_discovery) == (
        ["http://127.0.0.1:8000/api/inngest"],
        9999,
        True,
    )


def test_api_key_prints_a_key_and_the_line_that_lets_it_in() -> None:
    from learninngest.api.keys import KeyRing, parse_entries

    reply = subprocess.run(
        [sys.executable, "-m", "learninngest", "api-key"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = reply.stdout.split("it is not stored): ", 1)[1].split()[0]
    line = reply.stdout.split("replace 'client='): ", 1)[1].split()[0]
    assert key not in line  # the line holds the hash only
    ring = KeyRing(parse_entries(line, source="API_KEYS"))
    assert ring.owner_of(key) == "client"
    assert ring.owner_of(key + "x") is None


def test_db_upgrade_on_sqlite_has_nothing_to_do() -> None:
    reply = subprocess.run(
        [sys.executable, "-m", "learninngest", "db", "upgrade"], capture_output=True, text=True, timeout=60
    )
    assert reply.returncode == 0
    assert "nothing to upgrade" in reply.stdout


# Its own deadlines: 60 s for a first 202, then up to 30 s per accepted request's result.
@pytest.mark.timeout(240)
def test_up_accepts_no_request_before_its_functions_are_synced(tmp_path: Path) -> None:
    """POSTs fired from the moment the port opens: each is refused (503) or ends; none stays pending.

    The window before the sync is short, so this run may not hit it: the 503 itself is proven
    by tests/api/test_sync_gate.py; here `up` must open its gate and every accepted request end.
    """
    replies: list[httpx.Response] = []
    with started_up(tmp_path, env={"ENGINE_DB": "memory"}) as up:
        url = f"http://127.0.0.1:{up.port}"

        def accepted_one() -> None:
            with contextlib.suppress(httpx.TransportError):  # not listening yet
                replies.append(httpx.post(f"{url}/api/v1/chat", json={"query": "What is 2 + 2?"}, timeout=10))
            assert any(reply.status_code == 202 for reply in replies)

        wait_for(accepted_one, timeout=60, interval=0.005)
        for reply in replies:
            if reply.status_code == 503:
                assert reply.headers["Retry-After"] == "1" and "not yet synced" in reply.json()["detail"]
                continue
            assert reply.status_code == 202
            result = httpx.get(f"{url}{reply.json()['result_url']}", params={"wait": 20}, timeout=30).json()
            assert result["status"] == "done", result


def test_engine_log_level_flag() -> None:
    from learninngest.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["engine"]).log_level == "INFO"
    assert parser.parse_args(["engine", "--log-level", "warning"]).log_level == "WARNING"


@pytest.mark.timeout(240)  # three processes start on a busy machine, then a clean stop
def test_up_with_two_workers_finishes_chats_across_them_and_sigterm_stops_every_process(
    tmp_path: Path,
) -> None:
    # The default store: a SQLite file both processes share. Its re-read (LONG_POLL_REREAD_S)
    # comes after the long-polls' deadline, so only the processes' own relay can wake a
    # long-poll held by one process for a request another one finished.
    env = {"ENGINE_DB": "memory", "LONG_POLL_REREAD_S": "30", "OFFLINE_LATENCY_MEAN_MS": "1000"}
    with running_up(tmp_path, env=env, args=("--workers", "2")) as up:
        base = f"http://127.0.0.1:{up.port}"
        workers = children_running(up.proc.pid, b"learninngest.serving.backend_child")
        assert len(workers) == 2
        line = next(line for line in up.stdout().splitlines() if "backend processes" in line)
        assert line.split("pids")[0].split() == ["processes", "2", "backend", "processes,"]
        assert all(str(pid) in line for pid in workers)

        def chat(n: int) -> dict[str, object]:
            # A new connection per request: the kernel spreads them over both processes, so
            # the POST, the engine's calls and the long-poll (waiting for the slow model) each
            # land on either one.
            accepted = httpx.post(f"{base}/api/v1/chat", json={"query": f"What is {n} + 2?"}, timeout=30)
            assert accepted.status_code == 202, accepted.text
            url = f"{base}{accepted.json()['result_url']}"
            return httpx.get(url, params={"wait": 25}, timeout=40).json()

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(chat, range(8)))
        assert [result["status"] for result in results] == ["done"] * 8, results
        stream = httpx.get(f"{base}/api/v1/chat/{results[0]['request_id']}/stream", timeout=30)
        assert "event: done" in stream.text
        engines = engine_children(up.proc.pid)
        up.proc.send_signal(signal.SIGTERM)
        assert up.proc.wait(60) == 0
        assert all(_ended(pid) for pid in [*workers, *engines])
    assert "stopping…" in up.stdout()
    assert not port_in_use(up.port) and not port_in_use(up.engine_port)


@pytest.mark.timeout(240)
def test_up_stops_everything_when_one_of_its_backend_processes_dies(tmp_path: Path) -> None:
    with running_up(tmp_path, env={"ENGINE_DB": "memory"}, args=("--workers", "2")) as up:
        workers = children_running(up.proc.pid, b"learninngest.serving.backend_child")
        engines = engine_children(up.proc.pid)
        os.kill(workers[0], signal.SIGKILL)
        assert up.proc.wait(60) == 1
        assert all(_ended(pid) for pid in [*workers, *engines])
    err = (tmp_path / "up.err").read_text()
    assert f"(pid {workers[0]}) exited with code -9; stopping everything" in err
    assert not port_in_use(up.port) and not port_in_use(up.engine_port)


@pytest.mark.timeout(240)
def test_a_sigkilled_up_leaves_no_engine_running(tmp_path: Path) -> None:
    with running_up(tmp_path, env={"ENGINE_DB": "memory"}) as up:
        engines = engine_children(up.proc.pid)
        assert engines
        up.proc.kill()  # no clean-up runs in `up`: only the kernel's parent-death signal
        up.proc.wait(30)
        print("engine processes after SIGKILL of up:", engines)
        wait_until(lambda: all(_ended(pid) for pid in engines), timeout=60)
    assert not port_in_use(up.engine_port)


def _ended(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists() or "zombie" in _status(pid)


def test_up_refuses_several_workers_with_the_memory_store(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RESULT_STORE_URL", "memory://")
    with pytest.raises(SystemExit) as info:
        main(["up", "--workers", "2", "--port", str(free_port())])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "BACKEND_WORKERS=2 (or up --workers)" in err and "RESULT_STORE_URL=memory://" in err
