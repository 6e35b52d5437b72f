"""Two stacks started in one folder (two kernels on one JupyterHub host): no shared port, file or result.

Both start with the defaults, whose state files lie in `.learninngest/` under the folder
they start in: the first keeps that folder, the second takes `.learninngest/stack-2/`
(kit/state_folder.py). The second stack runs in a process of its own, as a second
kernel would, so the folder lock is tested across processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from learninngest.config import DEFAULT_ENGINE_DB, DEFAULT_RESULT_STORE_URL
from learninngest.kit import cells, state_folder
from learninngest.kit.stack import Stack

# The other kernel: start a stack with the defaults, answer one question, say what it has,
# then keep serving until the test closes its stdin.
OTHER_KERNEL = """
import json, sys
from learninngest import kit
stack = kit.up(engine_time_scale=0.01, log_level="WARNING")
request_id = kit.send("What is the capital of Italy?")["request_id"]
record = kit.wait_for_result(request_id)
print(json.dumps({
    "ports": [stack.backend.port, stack.engine.port],
    "engine_db": stack.settings.engine_db,
    "result_store_url": stack.settings.result_store_url,
    "request_id": request_id,
    "content": record["content"],
    "backend_url": stack.backend_url,
    "display": repr(stack),
}), flush=True)
sys.stdin.read()
kit.down()
"""


@pytest.fixture
def other_kernel(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with (tmp_path / "other-kernel.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", OTHER_KERNEL],
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # bounded by the test's timeout
        if not line:
            proc.wait(10)
            pytest.fail(f"the other stack did not start:\n{(tmp_path / 'other-kernel.log').read_text()}")
        yield json.loads(line)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()  # its kit.down(), then it exits
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_two_stacks_in_one_folder_share_no_port_file_or_result(
    tmp_path: Path, other_kernel: dict[str, Any]
) -> None:
    # The other kernel came first: it holds .learninngest/ with the default file names.
    assert other_kernel["engine_db"] == DEFAULT_ENGINE_DB
    assert other_kernel["result_store_url"] == DEFAULT_RESULT_STORE_URL
    assert "Rome" in other_kernel["content"]

    stack = Stack().up()  # this kernel, same folder, the same defaults
    try:
        assert stack.settings.engine_db == str(Path(".learninngest/stack-2/engine.db"))
        assert stack.settings.result_store_url == "sqlite:///.learninngest/stack-2/results.db"
        assert "state in .learninngest/stack-2 (another stack uses .learninngest)" in repr(stack)
        assert not {stack.backend.port, stack.engine.port} & set(other_kernel["ports"])  # type: ignore[union-attr]

        request_id = cells.send("What is the capital of France?", stack=stack)["request_id"]
        assert "Paris" in cells.wait_for_result(request_id, stack=stack)["content"]
        # Neither backend knows the other's request: separate stores, separate engines.
        assert (
            httpx.get(f"{stack.backend_url}/api/v1/chat/result/{other_kernel['request_id']}").status_code
            == 404
        )
        assert httpx.get(f"{other_kernel['backend_url']}/api/v1/chat/result/{request_id}").status_code == 404
        assert (tmp_path / ".learninngest" / "engine.db").is_file()
        assert (tmp_path / ".learninngest" / "stack-2" / "engine.db").is_file()
        assert (tmp_path / ".learninngest" / "stack-2" / "results.db").is_file()
    finally:
        stack.down()


def test_a_lone_stack_keeps_the_usual_folder_and_frees_it_when_down(tmp_path: Path) -> None:
    first = Stack().up()
    try:
        assert first.settings.engine_db == DEFAULT_ENGINE_DB
        assert "state in" not in repr(first)  # nothing new to read on a laptop
        second = Stack().up()  # in one process too: the lock is per open file
        try:
            assert second.state is not None and second.state.path == state_folder.ROOT / "stack-2"
        finally:
            second.down()
    finally:
        first.down()
    again = Stack().up()  # the folder is free once its stack is down
    try:
        assert again.settings.engine_db == DEFAULT_ENGINE_DB
    finally:
        again.down()


def test_state_in_memory_claims_no_folder(tmp_path: Path) -> None:
    stack = Stack(
        settings=Stack().settings.model_copy(update={"engine_db": "memory", "result_store_url": "memory://"})
    )
    stack.up()
    try:
        assert stack.state is None
        assert not (tmp_path / ".learninngest").exists()
    finally:
        stack.down()
