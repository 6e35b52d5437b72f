"""The `learninngest engine` entry points: flags like `inngest-cli dev`, a clear port error."""

from __future__ import annotations

import argparse
import socket

import pytest

from learninngest.engine.main import add_engine_arguments, run_engine, settings_from_args


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    return parser.parse_args(argv)


def test_flags_map_onto_settings() -> None:
    s = settings_from_args(parse("-u", "http://a/api/inngest", "-u", "http://b/api/inngest", "--memory",
                                 "--port", "9000", "--time-scale", "0.01", "--signing-key", "k"))  # fmt: skip
    assert s.app_urls == ["http://a/api/inngest", "http://b/api/inngest"]
    assert (s.db_path, s.port, s.time_scale, s.signing_key) == (None, 9000, 0.01, "k")
    assert settings_from_args(parse()).db_path == ".learninngest/engine.db"
    assert settings_from_args(parse()).inline_state_limit == 1024 * 1024
    assert settings_from_args(parse("--inline-state-limit", "5000")).inline_state_limit == 5000


def test_port_in_use_is_one_line_naming_port_and_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert run_engine(parse("--port", str(port), "--memory")) == 2
    err = capsys.readouterr().err.strip()
    assert str(port) in err and "--port" in err and "\n" not in err


def test_retention_flag_defaults_to_a_week_and_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert settings_from_args(parse()).retention_s == 7 * 86_400
    assert settings_from_args(parse("--retention", "60")).retention_s == 60
    assert run_engine(parse("--retention", "0", "--memory")) == 2
    assert "--retention must be greater than 0" in capsys.readouterr().err


def test_connect_gateway_on_port_plus_one_like_the_dev_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert settings_from_args(parse("--port", "9000")).connect_gateway_port == 9001
    assert settings_from_args(parse("--connect-gateway-port", "7000")).connect_gateway_port == 7000
    assert settings_from_args(parse("--connect-gateway-port", "0")).connect_gateway_port is None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        free = _free_port()
        assert run_engine(parse("--port", str(free), "--connect-gateway-port", str(taken), "--memory")) == 2
    err = capsys.readouterr().err.strip()
    assert str(taken) in err and "--connect-gateway-port" in err and "\n" not in err


def _free_port() -> int:
    from learninngest.kit.servers import free_port

    return free_port()
