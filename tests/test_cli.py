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
