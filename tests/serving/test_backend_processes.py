"""BackendProcesses: N real backend processes on one port (serving/backend_processes.py).

No Inngest server here: these tests look at the processes themselves (who answers, the
sync gate of each, how they stop). `tests/test_cli.py` runs `up --workers 2` end to end.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from learninngest.config import get_settings
from learninngest.kit.servers import free_port, port_in_use
from learninngest.serving.backend_processes import BackendProcesses
from tests.support import established_tcp, wait_for


def gone(pid: int) -> bool:
    """The process ended (a zombie waiting for its parent counts as ended)."""
    try:
        return "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return True


@pytest.fixture
def two(tmp_path: Path) -> Iterator[BackendProcesses]:
    settings = get_settings(
        port=free_port(),
        result_store_url=f"sqlite:///{tmp_path / 'results.db'}",
        reconcile_interval_s=0,
        log_level="WARNING",
        inngest_base_url=f"http://127.0.0.1:{free_port()}",  # nobody listens: no Inngest server here
    )
    processes = BackendProcesses(settings, 2).start()
    try:
        yield processes
    finally:
        processes.stop()


@pytest.mark.timeout(120)
def test_both_processes_take_connections_on_the_one_port(two: BackendProcesses) -> None:
    clients = [httpx.Client(base_url=two.url) for _ in range(16)]
    try:
        for client in clients:  # each client keeps its connection open (keep-alive)
            assert client.get("/healthz").status_code == 200
        held = {pid: established_tcp(pid, local_port=two.port) for pid in two.pids}
        assert sum(held.values()) == 16
        assert all(count > 0 for count in held.values()), held  # the kernel spread them
    finally:
        for client in clients:
            client.close()


@pytest.mark.timeout(120)
def test_every_gate_stays_closed_until_opened_then_all_accept(two: BackendProcesses) -> None:
    def post(client: httpx.Client) -> int:
        return client.post("/api/v1/chat", json={"query": "hello"}).status_code

    clients = [httpx.Client(base_url=two.url, timeout=30) for _ in range(12)]
    try:
        assert {post(client) for client in clients} == {503}
        two.open_gates()
        # Each process reads the message in a thread of its own: wait until every one has it.
        # (/readyz says whether its gate is open; no Inngest server runs here, so a POST would
        # now only fail later, at the event's send.)
        for client in clients:
            wait_for(
                lambda client=client: (
                    "not yet synced" not in client.get("/readyz").json()["checks"]["inngest"]
                ),
                timeout=30,
            )
        assert all(established_tcp(pid, local_port=two.port) > 0 for pid in two.pids)  # both were asked
    finally:
        for client in clients:
            client.close()


@pytest.mark.timeout(120)
def test_stop_ends_every_process_and_frees_the_port(two: BackendProcesses) -> None:
    pids = two.pids
    two.stop()
    assert all(gone(pid) for pid in pids)
    assert not port_in_use(two.port)


@pytest.mark.timeout(120)
def test_a_process_stops_by_itself_when_its_parent_goes_away(two: BackendProcesses) -> None:
    # A parent killed with SIGKILL cannot stop its children; its end of each control socket
    # closes with it, which is what the children notice. Shutting ours down does the same.
    child = two._children[0]
    child.control.shutdown(socket.SHUT_RDWR)
    assert child.proc.wait(30) == 0
    assert two.wait(timeout=5) == f"backend process 1 of 2 (pid {child.proc.pid}) exited with code 0"
