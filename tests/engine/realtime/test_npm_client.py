"""The npm Realtime clients (`@inngest/realtime`, what a browser page uses, and inngest 4.x's
own `inngest/realtime`) against the engine.

tests/engine/ts_realtime/subscribe.mjs (and client4.mjs, with inngest 4.x) subscribes and
prints each message as a JSON line;
its dependencies come from the committed package-lock.json (`npm ci`, run by `make test`
and .ci/run; the fixture runs it too when node_modules is missing). A function run by the
engine publishes with the Python SDK; the client must get every message, in order.
Without Node.js and npm these tests report themselves skipped (CI installs both).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import inngest
import pytest
from inngest.experimental import realtime

from learninngest.serving.child_process import stop_child
from tests.engine.harness import Host, local_engine, served
from tests.engine.realtime.support import publish

CLIENT_DIR = Path(__file__).parents[1] / "ts_realtime"
CHANNEL = "user:ana"


def ensure_node_modules() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("Node.js and npm are needed for the npm Realtime client tests (CI installs them)")
    if not (CLIENT_DIR / "node_modules" / ".installed").is_file():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=CLIENT_DIR,
            check=True,
            timeout=300,
        )
        (CLIENT_DIR / "node_modules" / ".installed").touch()  # what `make ts-realtime` leaves too
    return node


def websocket_flag(node: str) -> list[str]:
    """Node 20 has its WebSocket behind a flag; from 22 on it is there by default."""
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    return ["--experimental-websocket"] if int(version.lstrip("v").split(".")[0]) < 22 else []


class NpmSubscriber:
    """subscribe.mjs as a child process; its lines come in through a reader thread."""

    def __init__(
        self,
        node: str,
        host: Host,
        topics: list[str],
        count: int,
        key: str | None,
        script: str = "subscribe.mjs",
        **extra_env: str,
    ) -> None:
        env = dict(
            os.environ,
            INNGEST_BASE_URL=host.url,
            REALTIME_CHANNEL=CHANNEL,
            REALTIME_TOPICS=",".join(topics),
            REALTIME_COUNT=str(count),
            **extra_env,
        )
        env.pop("REALTIME_KEY", None)
        if key:
            env["REALTIME_KEY"] = key
        self.proc = subprocess.Popen(
            [node, *websocket_flag(node), "--no-warnings", script],
            cwd=CLIENT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def next(self, timeout: float = 60.0) -> dict[str, Any]:
        return self.lines.get(timeout=timeout)

    def stop(self) -> None:
        stop_child(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def node() -> str:
    return ensure_node_modules()


@pytest.fixture
def host() -> Iterator[Host]:
    with local_engine(paused=True) as engine:
        yield engine


def publishing_function(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="talk", trigger=inngest.TriggerEvent(event="test/talk"))
    async def talk(ctx: inngest.Context) -> None:
        async def say(first: int) -> None:
            for n in range(first, first + 3):
                await realtime.publish(client, CHANNEL, "messages", {"n": n})

        await ctx.step.run("first", say, 0)
        await ctx.step.run("second", say, 3)

    @client.create_function(fn_id="token", trigger=inngest.TriggerEvent(event="test/token"))
    async def token(ctx: inngest.Context) -> dict[str, object]:
        # How a backend hands a browser its token (the SDK's examples do it in a route).
        return dict(await realtime.get_subscription_token(client, CHANNEL, ["messages"]))

    return [talk, token]


def test_the_npm_client_gets_what_a_function_publishes_in_order(node: str, host: Host) -> None:
    with served(host, "rt-npm", publishing_function) as case:
        run = case.wait_run(case.send("test/token"))
        token = json.loads(run["output"]) if isinstance(run["output"], str) else run["output"]
        assert token["channel"] == CHANNEL and token["topics"] == ["messages"]

        subscriber = NpmSubscriber(node, host, ["messages"], 6, token["key"])
        try:
            assert subscriber.next() == {"subscribed": True}
            case.wait_run(case.send("test/talk"))

            got = [subscriber.next() for _ in range(6)]
        finally:
            subscriber.stop()

    assert [m["data"] for m in got] == [{"n": n} for n in range(6)]
    assert {(m["kind"], m["channel"], m["topic"]) for m in got} == {("data", CHANNEL, "messages")}


def test_the_npm_client_asks_for_its_own_token_and_hears_only_its_topics(node: str, host: Host) -> None:
    subscriber = NpmSubscriber(node, host, ["status"], 1, key=None)  # POST /v1/realtime/token itself
    try:
        assert subscriber.next() == {"subscribed": True}
        assert publish(host, CHANNEL, "messages", {"not": "mine"}).status_code == 200
        assert publish(host, CHANNEL, "status", {"mine": True}).status_code == 200

        assert subscriber.next()["data"] == {"mine": True}
    finally:
        subscriber.stop()


def test_the_npm_client_cannot_subscribe_with_an_expired_token(node: str, host: Host) -> None:
    with host.rest() as rest:
        key = rest.post("/v1/realtime/token", json=[{"kind": "run", "channel": CHANNEL, "name": "messages"}])
    assert host.clock is not None
    host.clock.advance(61)  # the engine's clock: the token is now past its minute

    subscriber = NpmSubscriber(node, host, ["messages"], 1, key.json()["jwt"])
    try:
        assert "error" in subscriber.next()
    finally:
        subscriber.stop()


def test_inngest_4x_subscribes_and_publishes_with_its_own_realtime(node: str, host: Host) -> None:
    # inngest 4.x asks for its token itself and publishes with one `topic` query parameter
    # per topic; its subscriber gets what it published, in order.
    client = NpmSubscriber(node, host, ["messages"], 5, None, "client4.mjs", REALTIME_PUBLISH="1")
    try:
        assert client.next() == {"subscribed": True}
        got = [client.next() for _ in range(5)]
    finally:
        client.stop()

    assert [m["data"] for m in got] == [{"n": n} for n in range(5)]
    assert {(m["kind"], m["channel"], m["topic"]) for m in got} == {("data", CHANNEL, "messages")}


def test_inngest_4x_hears_what_a_python_function_publishes(node: str, host: Host) -> None:
    with served(host, "rt-npm4", publishing_function) as case:
        subscriber = NpmSubscriber(node, host, ["messages"], 6, None, "client4.mjs")
        try:
            assert subscriber.next() == {"subscribed": True}
            case.wait_run(case.send("test/talk"))
            got = [subscriber.next() for _ in range(6)]
        finally:
            subscriber.stop()

    assert [m["data"] for m in got] == [{"n": n} for n in range(6)]
