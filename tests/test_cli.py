"""The CLI: usage errors end with a --help hint; a port in use gives a one-line error."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from learninngest.cli import main


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


def test_up_serves_prints_the_urls_and_stops_cleanly_on_ctrl_c(tmp_path) -> None:  # noqa: ANN001
    import os
    import signal

    import httpx

    from learninngest.kit.servers import free_port, port_in_use
    from tests.support import wait_for

    port, engine_port = free_port(), free_port()
    env = {**os.environ, "OFFLINE_LATENCY_MEAN_MS": "0", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "learninngest", "up", "--port", str(port), "--engine-port", str(engine_port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").raise_for_status(), timeout=30)
        accepted = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/chat", json={"query": "What is the capital of France?"}
        )
        result = httpx.get(
            f"http://127.0.0.1:{port}{accepted.json()['result_url']}", params={"wait": 20}, timeout=30
        ).json()
        assert result["status"] == "done" and "Paris" in result["content"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert f"swagger        http://127.0.0.1:{port}/docs" in out
    assert f"dashboard      http://127.0.0.1:{engine_port}/" in out
    assert f"curl -s -X POST http://127.0.0.1:{port}/api/v1/chat" in out
    assert not port_in_use(port) and not port_in_use(engine_port)
    assert (tmp_path / ".learninngest" / "results.db").exists()


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


def test_up_accepts_no_request_before_its_functions_are_synced(tmp_path) -> None:  # noqa: ANN001
    """POSTs fired from the moment the port opens: each is refused (503) or ends; none stays pending.

    The window before the sync is short, so this run may not hit it: the 503 itself is proven
    by tests/api/test_sync_gate.py; here `up` must open its gate and every accepted request end.
    """
    import contextlib
    import os
    import signal

    import httpx

    from learninngest.kit.servers import free_port
    from tests.support import wait_for

    port, engine_port = free_port(), free_port()
    env = {**os.environ, "OFFLINE_LATENCY_MEAN_MS": "0", "ENGINE_DB": "memory"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "learninngest", "up", "--port", str(port), "--engine-port", str(engine_port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    replies: list[httpx.Response] = []
    try:

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
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
