"""A function with steps runs to completion on a connect worker that has no HTTP port."""

from __future__ import annotations

from pathlib import Path

import httpx
import inngest
import pytest

from learninngest.engine.connect.router import ACCOUNT_ID, ENV_ID
from learninngest.worker.client import release_blocking_client
from tests.engine.connect.support import ThreadWorker
from tests.engine.connect.worker_app import client_for, make_functions
from tests.engine.harness import TEST_SIGNING_KEY, CaseContext, local_engine
from tests.support import wait_for


def test_steps_run_over_the_socket(tmp_path: Path) -> None:
    with local_engine() as host:
        client = client_for(host.url, "connect-app")
        try:
            with ThreadWorker(client, make_functions(client, "w1", tmp_path), "w1"):
                # Listed as the Dev Server lists its connections (the SDK's tests read this).
                conns = httpx.get(f"{host.url}/v0/connect/envs/{ENV_ID}/conns").json()["data"]
                assert [(c["instance_id"], c["status"]) for c in conns] == [("w1", 1)]  # READY
                ctx = CaseContext(host, client, app_url="")
                run = ctx.wait_run(ctx.send("test/connect.steps", {"n": 4}))
                assert run["output"] == {"first": 5, "second": 50, "worker": "w1"}
                steps = [s["name"] for s in ctx.steps(run["run_id"]) if s["status"] == "Completed"]
                assert {"one", "two"} <= set(steps)
                # Synced by the worker's handshake, with the connect URL instead of an HTTP one.
                apps = httpx.get(f"{host.url}/v1/apps").json()
                (app,) = [a for a in apps["data"]["apps"] if a["app_id"] == "connect-app"]
                assert app["url"] == "ws://connect?app_name=connect-app"
        finally:
            release_blocking_client(client)


def test_gateway_port_of_its_own(tmp_path: Path) -> None:
    """As the Dev Server: /v0/connect/start sends workers to a gateway on another port."""
    from learninngest.kit.servers import free_port

    gateway_port = free_port()
    with local_engine(connect_gateway_port=gateway_port) as host:
        client = client_for(host.url, "connect-gw")
        try:
            with ThreadWorker(client, make_functions(client, "w1", tmp_path), "w1") as worker:
                assert worker.conn is not None
                ctx = CaseContext(host, client, app_url="")
                run = ctx.wait_run(ctx.send("test/connect.steps", {"n": 1}))
                assert run["output"]["second"] == 20
            engine = host.server.app.state.engine if host.server else None
            assert engine is not None
            wait_for(lambda: _no_workers(engine))
        finally:
            release_blocking_client(client)
    assert ACCOUNT_ID


def _no_workers(engine: object) -> None:
    assert not engine.connect.router.workers.all()  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/v0/connect/flush"])
def test_flush_wants_a_reply(path: str) -> None:
    with local_engine() as host:
        resp = httpx.post(f"{host.url}{path}", content=b"")
        assert resp.status_code == 400
        assert "SDKResponse" in resp.json()["error"]


def test_signed_engine_wants_the_signing_key(tmp_path: Path) -> None:
    """Cloud mode: /v0/connect/start and /flush want the key's bearer; the SDK sends it."""
    with local_engine(signing_key=TEST_SIGNING_KEY) as host:
        resp = httpx.post(f"{host.url}/v0/connect/start", content=b"")
        assert resp.status_code == 401
        assert "signing key" in resp.json()["error"]
        assert httpx.post(f"{host.url}/v0/connect/flush", content=b"x").status_code == 401
        client = inngest.Inngest(
            app_id="connect-signed",
            is_production=True,
            signing_key=TEST_SIGNING_KEY,
            event_key="test-event-key",
            api_base_url=host.url,
            event_api_base_url=host.url,
        )
        try:
            with ThreadWorker(client, make_functions(client, "w1", tmp_path), "w1"):
                ctx = CaseContext(host, client, app_url="")
                run = ctx.wait_run(ctx.send("test/connect.steps", {"n": 2}))
                assert run["output"]["second"] == 30
        finally:
            release_blocking_client(client)


def test_a_socket_without_a_session_token_is_refused() -> None:
    """Only a worker that called /v0/connect/start may connect (its one-time session token)."""
    import asyncio

    import websockets

    from learninngest.engine.connect import codec

    async def handshake(url: str) -> str:
        async with websockets.connect(url, subprotocols=[websockets.Subprotocol(codec.SUBPROTOCOL)]) as ws:
            hello = codec.parse(codec.ConnectMessage, await ws.recv())
            assert codec.kind_name(hello.kind) == "GATEWAY_HELLO"
            data = codec.WorkerConnectRequestData(connection_id="01JZ0000000000000000000000", instance_id="i")
            await ws.send(codec.encode(codec.Kind.WORKER_CONNECT, data))
            try:
                await ws.recv()
            except websockets.ConnectionClosed as closed:
                return (
                    f"{closed.rcvd.code if closed.rcvd else None} {closed.rcvd.reason if closed.rcvd else ''}"
                )
            return "not closed"

    with local_engine() as host:
        outcome = asyncio.run(handshake(host.url.replace("http://", "ws://") + "/v0/connect"))
    assert outcome.startswith("1008 Authentication failed"), outcome


@pytest.mark.parametrize(
    ("functions", "told", "reason"),
    [
        # Refused by the registry: SYNC_FAILED with its code and message, then the close.
        (b'[{"id": "f"}]', ("config_invalid", "sync refused: function f:"), "sync of app bad-app failed:"),
        # Not JSON: refused before any sync (the real gateway: an internal error), no SYNC_FAILED.
        (b"not json", None, "Invalid function config of app bad-app"),
    ],
)
def test_a_failed_sync_is_told_before_the_close(
    functions: bytes, told: tuple[str, str] | None, reason: str
) -> None:
    """As the real gateway: SYNC_FAILED (a SystemError: code, message), then 1008."""
    import asyncio

    import websockets

    from learninngest.engine.connect import codec

    async def handshake(url: str, token: str) -> tuple[list[str], object, str]:
        kinds: list[str] = []
        error = None
        async with websockets.connect(url, subprotocols=[websockets.Subprotocol(codec.SUBPROTOCOL)]) as ws:
            await ws.recv()  # GATEWAY_HELLO
            data = codec.WorkerConnectRequestData(
                connection_id="01JZ0000000000000000000000",
                instance_id="i",
                auth_data=codec.pb.AuthData(session_token=token),
                apps=[codec.pb.AppConfiguration(app_name="bad-app", functions=functions)],
                sdk_language="py",
                sdk_version="0.0.0",
            )
            await ws.send(codec.encode(codec.Kind.WORKER_CONNECT, data))
            try:
                while True:
                    frame = codec.parse(codec.ConnectMessage, await ws.recv())
                    kinds.append(codec.kind_name(frame.kind))
                    if frame.kind == codec.Kind.SYNC_FAILED:
                        error = codec.parse(codec.SystemErrorData, frame.payload)
            except websockets.ConnectionClosed as closed:
                assert closed.rcvd is not None
                return kinds, error, f"{closed.rcvd.code} {closed.rcvd.reason}"

    with local_engine() as host:
        start = httpx.post(f"{host.url}/v0/connect/start", content=codec.StartRequest().SerializeToString())
        token = codec.StartResponse.FromString(start.content).session_token
        socket_url = host.url.replace("http://", "ws://") + "/v0/connect"
        kinds, error, closed = asyncio.run(handshake(socket_url, token))
        apps = [a["app_id"] for a in httpx.get(f"{host.url}/v1/apps").json()["data"]["apps"]]
    print("frames:", kinds, "error:", error, "closed:", closed)
    if told is None:
        assert kinds == []
    else:
        assert kinds == ["SYNC_FAILED"]
        code, message = told
        assert error is not None and error.code == code  # type: ignore[attr-defined]
        assert error.message.startswith(message)  # type: ignore[attr-defined]
    assert closed.startswith(f"1008 {reason}")
    assert "bad-app" not in apps  # nothing registered, no GATEWAY_CONNECTION_READY
