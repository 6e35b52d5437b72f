"""Helpers of the Realtime tests: a token from the engine, and a socket that collects frames."""

from __future__ import annotations

import json
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from tests.engine.harness import Host


def token_for(host: Host, channel: str, *topics: str) -> str:
    with host.rest() as rest:
        reply = rest.post(
            "/v1/realtime/token", json=[{"kind": "run", "channel": channel, "name": t} for t in topics]
        )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["jwt"])


def socket(host: Host, jwt: str) -> ClientConnection:
    return connect(f"ws{host.url[4:]}/v1/realtime/connect?token={jwt}", open_timeout=10)


def frames(ws: ClientConnection, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The next `count` frames, each within `timeout` seconds."""
    return [json.loads(ws.recv(timeout=timeout)) for _ in range(count)]


def publish(host: Host, channel: str, topic: str, body: Any, **headers: str) -> httpx.Response:
    with host.rest() as rest:
        if isinstance(body, bytes):
            return rest.post(
                f"/v1/realtime/publish?channel={channel}&topic={topic}", content=body, headers=headers
            )
        return rest.post(f"/v1/realtime/publish?channel={channel}&topic={topic}", json=body, headers=headers)
