"""The notebook harness: up() twice gives one stack, down() frees the ports, errors say what to do."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from learninngest import kit
from learninngest.kit.servers import port_in_use
from learninngest.kit.stack import Stack, StackError
from tests.support import wait_for


@pytest.fixture
def kit_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RESULT_STORE_URL", f"sqlite:///{tmp_path / 'results.db'}")
    monkeypatch.setenv("ENGINE_DB", "memory")
    monkeypatch.setenv("ENGINE_TIME_SCALE", "0.01")
    yield
    kit.down()


def test_up_twice_gives_the_same_stack_and_down_frees_the_ports(kit_env: None) -> None:
    stack = kit.up()
    assert kit.up() is stack
    ports = [stack.backend.port, stack.engine.port]  # type: ignore[union-attr]
    assert httpx.get(f"{stack.backend_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{stack.inngest_url}/health").status_code == 200
    kit.down()
    assert not stack.running
    assert not any(port_in_use(port) for port in ports)
    with pytest.raises(StackError, match=r"call `stack = kit.up\(\)` first"):
        kit.current()


def test_display_lists_the_urls(kit_env: None) -> None:
    stack = kit.up()
    text = repr(stack)
    assert text.startswith("Stack (up)")
    for name in ("swagger", "dashboard", "offline model"):
        assert name in text
    assert f"{stack.backend_url}/docs" in stack._repr_html_()


def test_readyz_is_ready_on_a_stack(kit_env: None) -> None:
    stack = kit.up()
    body = httpx.get(f"{stack.backend_url}/readyz").json()
    assert body["status"] == "ready", body


def test_engine_retention_reaches_the_engine_in_a_thread_and_in_a_process(
    kit_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGINE_RETENTION_S", "123")
    monkeypatch.setenv("ENGINE_CONNECT_LEASE_S", "4")
    stack = kit.up()
    assert stack.engine.app.state.engine.settings.retention_s == 123  # type: ignore[union-attr]
    assert stack.engine.app.state.engine.settings.connect_lease_s == 4  # type: ignore[union-attr]
    kit.down()
    process_stack = Stack(engine_process=True).up()  # what `learninngest up` starts
    try:
        assert process_stack._cli_process is not None
        cmdline = Path(f"/proc/{process_stack._cli_process.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[cmdline.index(b"--retention") + 1] == b"123.0"
        assert cmdline[cmdline.index(b"--connect-lease") + 1] == b"4.0"
    finally:
        process_stack.down()


def test_nest_asyncio_is_not_applied_outside_a_running_loop(kit_env: None) -> None:
    kit.up()
    assert kit.nest_asyncio_applied() is False


def test_cli_binary_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from learninngest.config import get_settings

    monkeypatch.setenv("PATH", str(tmp_path))  # no inngest-cli anywhere
    stack = Stack(settings=get_settings(kit_inngest_server="cli", engine_db="memory"))
    with pytest.raises(StackError, match="no inngest-cli binary was found: set INNGEST_CLI"):
        stack.up()
    assert not stack.running


def test_unknown_inngest_server_kind_is_a_clear_error() -> None:
    from learninngest.config import get_settings

    stack = Stack(settings=get_settings(kit_inngest_server="cloud", engine_db="memory"))
    with pytest.raises(StackError, match="KIT_INNGEST_SERVER='cloud' is not one of"):
        stack.up()


def test_asyncio_run_still_works_in_a_plain_script(kit_env: None) -> None:
    kit.up()

    async def answer() -> int:
        return 42

    assert asyncio.run(answer()) == 42


def test_timeline_lists_each_attempt_of_a_retried_request(kit_env: None) -> None:
    kit.up()
    request_id = kit.send("[fault:429x1] What is the capital of France?")["request_id"]
    assert kit.wait_for_result(request_id)["status"] == "done"
    table = wait_for(lambda: _completed_timeline(request_id))
    assert list(table.columns) == kit.cells.TIMELINE_COLUMNS
    retried = table[table["status"] == "Retrying"]
    assert len(retried) == 1
    assert "429" in retried.iloc[0]["error"]
    assert list(table[table["status"] == "Completed"]["name"])[:2] == ["generate", "save"]


def _completed_timeline(request_id: str):  # noqa: ANN202
    table = kit.timeline(request_id)
    assert set(table["run_status"]) == {"Completed"}
    return table
