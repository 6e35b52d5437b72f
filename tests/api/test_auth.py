"""API keys on /api/v1 (api/auth.py, api/keys.py): 401 without a valid key, 404 for another key's request."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.store.base import ChatRecord, Status
from tests.support import capture_log

ALICE_OLD = "alice-old-key-0123456789"
ALICE_NEW = "alice-new-key-9876543210"  # rotation: same name, both valid
BOB = "bob-key-abcdefghijklmnop"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def secured(sqlite_path: Path, dead_inngest_url: str) -> Iterator[BackgroundServer]:
    port = free_port()
    new_hash = hashlib.sha256(ALICE_NEW.encode()).hexdigest()
    settings = get_settings(
        port=port,
        inngest_base_url=dead_inngest_url,
        result_store_url=f"sqlite:///{sqlite_path}",
        api_keys=f"alice={ALICE_OLD}, alice=sha256:{new_hash}, bob={BOB}",
    )
    with BackgroundServer(create_app(settings), name="backend", port=port) as server:
        yield server


@pytest.fixture
def client(secured: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=secured.url, timeout=30) as http:
        yield http


def _store_call(server: BackgroundServer, make) -> object:  # noqa: ANN001
    return asyncio.run(make(server.app.state.store))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/chat"),
        ("GET", "/api/v1/chat/result/r1"),
        ("GET", "/api/v1/chat/r1/runs"),
    ],
)
def test_no_key_is_401_with_www_authenticate(client: httpx.Client, method: str, path: str) -> None:
    reply = client.request(method, path, json={"query": "hi"})
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="learninngest"'
    assert "Authorization: Bearer" in reply.json()["detail"]


@pytest.mark.parametrize("header", ["Bearer not-a-key-we-know-of", "Basic YWxpY2U6eA==", "Bearer"])
def test_a_wrong_key_is_401(client: httpx.Client, header: str) -> None:
    reply = client.get("/api/v1/chat/result/r1", headers={"Authorization": header})
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"].startswith('Bearer realm="learninngest"')


def test_health_and_the_inngest_endpoint_need_no_key(client: httpx.Client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code != 401  # 503 here: the Inngest server is absent
    assert client.get("/api/inngest").status_code != 401  # the SDK's own auth (signing) applies


def test_a_request_belongs_to_the_key_that_made_it(client: httpx.Client, secured: BackgroundServer) -> None:
    # The Inngest server is absent, so the POST records an error (503) — with its owner.
    reply = client.post("/api/v1/chat", json={"query": "hi"}, headers=bearer(ALICE_OLD))
    assert reply.status_code == 503
    request_id = reply.json()["request_id"]
    record = _store_call(secured, lambda store: store.get(request_id))
    assert isinstance(record, ChatRecord) and record.owner == "alice"

    mine = client.get(f"/api/v1/chat/result/{request_id}", headers=bearer(ALICE_NEW))  # rotated key
    assert mine.status_code == 200 and mine.json()["status"] == "error"
    assert "owner" not in mine.json()

    for path in (f"/api/v1/chat/result/{request_id}", f"/api/v1/chat/{request_id}/runs"):
        theirs = client.get(path, headers=bearer(BOB))
        assert theirs.status_code == 404  # not 403: bob learns nothing about the id
        assert theirs.json()["detail"].startswith(f"No chat request with id '{request_id}'")


def test_a_long_poll_on_another_keys_request_is_404(client: httpx.Client, secured: BackgroundServer) -> None:
    _store_call(
        secured, lambda store: store.create(ChatRecord(request_id="r-alice", query="q", owner="alice"))
    )
    reply = client.get("/api/v1/chat/result/r-alice", params={"wait": 5}, headers=bearer(BOB))
    assert reply.status_code == 404
    _store_call(secured, lambda store: store.finish("r-alice", status=Status.done, content="Paris"))
    reply = client.get("/api/v1/chat/result/r-alice", params={"wait": 5}, headers=bearer(ALICE_OLD))
    assert reply.json()["content"] == "Paris"


def test_idempotency_keys_are_per_api_key(client: httpx.Client, secured: BackgroundServer) -> None:
    async def alice_used_order_42(store) -> None:  # noqa: ANN001
        # As if alice's POST with Idempotency-Key order-42 had been accepted and answered.
        await store.create(ChatRecord(request_id="r-alice", query="hi", owner="alice"))
        await store.set_event_ids("r-alice", ["ev-1"])
        await store.finish("r-alice", status=Status.done, content="Paris")
        await store.claim_idempotency_key("alice:order-42", "r-alice", 60)

    _store_call(secured, alice_used_order_42)
    same = {"Idempotency-Key": "order-42"}

    replay = client.post("/api/v1/chat", json={"query": "hi"}, headers={**same, **bearer(ALICE_NEW)})
    other = client.post("/api/v1/chat", json={"query": "hi"}, headers={**same, **bearer(BOB)})

    assert (replay.status_code, replay.json()["request_id"]) == (202, "r-alice")  # alice's key name
    assert other.json()["request_id"] != "r-alice"  # bob's order-42 is his own request


def test_keys_are_never_logged(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        client.get("/api/v1/chat/result/x", headers=bearer("a-wrong-key-that-is-secret"))
        client.post("/api/v1/chat", json={"query": "hi"}, headers=bearer(BOB))
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "unknown API key" in text
    assert "a-wrong-key-that-is-secret" not in text and BOB not in text


def test_swagger_shows_the_bearer_scheme(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from API_KEYS (only when the backend has keys set).",
    }
    assert spec["paths"]["/api/v1/chat"]["post"]["security"] == [{"ApiKey": []}]
    assert "401" in spec["paths"]["/api/v1/chat/result/{request_id}"]["get"]["responses"]


def test_every_api_v1_route_authenticates_and_is_rate_limited(
    sqlite_path: Path, dead_inngest_url: str
) -> None:
    # A route added later (e.g. a stream) under /api/v1 must not be open by mistake: every
    # operation the app documents there answers 401 without a key, and counts with one.
    port = free_port()
    settings = get_settings(
        port=port,
        inngest_base_url=dead_inngest_url,
        result_store_url=f"sqlite:///{sqlite_path}",
        api_keys=f"bob={BOB}",
        rate_limit_requests=1000,
    )
    with (
        BackgroundServer(create_app(settings), name="backend", port=port) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        paths = http.get("/openapi.json").json()["paths"]
        operations = [
            (method.upper(), path.replace("{request_id}", "unknown-id"))
            for path, methods in paths.items()
            if path.startswith("/api/v1")
            for method in methods
        ]
        assert len(operations) >= 3
        for method, path in operations:
            body = {"query": "hi"} if method == "POST" else None
            assert http.request(method, path, json=body).status_code == 401, path
            reply = http.request(method, path, json=body, headers=bearer(BOB))
            assert reply.status_code != 401, path
            assert reply.headers["RateLimit-Policy"] == "1000;w=60", path


def test_dev_mode_needs_no_key(http: httpx.Client) -> None:
    reply = http.get("/api/v1/chat/result/nope")
    assert reply.status_code == 404  # not 401: no API_KEYS, no authentication


def test_failed_authentications_are_limited_per_address_and_logged_sparingly(
    sqlite_path: Path, dead_inngest_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from learninngest.api import auth_failures

    monkeypatch.setattr(auth_failures, "LOG_INTERVAL_S", 3600.0)  # one line for the whole test
    settings = get_settings(
        port=free_port(),
        inngest_base_url=dead_inngest_url,
        result_store_url=f"sqlite:///{sqlite_path}",
        api_keys=f"bob={BOB}",
        auth_failure_limit=10,
    )
    with (
        capture_log("learninngest.api") as log,
        BackgroundServer(create_app(settings), name="backend", port=settings.port) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        wrong = [http.get("/api/v1/chat/result/x", headers=bearer(f"wrong-key-{n:08d}")) for n in range(40)]
        still_bob = http.get("/api/v1/chat/result/x", headers=bearer(BOB))

    statuses = [reply.status_code for reply in wrong]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429] * 30
    refused = wrong[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many requests without a valid API key" in refused.json()["detail"]
    assert still_bob.status_code == 404  # a valid key from the same address still passes
    lines = [line for line in log.lines if "unauthorized" in line]
    assert lines == [
        "WARNING learninngest.api [-] unauthorized GET /api/v1/chat/result/x from 127.0.0.1: unknown API key"
    ]


def test_without_keys_the_schema_declares_no_bearer(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    assert "securitySchemes" not in spec.get("components", {})
    operations = [op for path in spec["paths"].values() for op in path.values()]
    assert operations and not any("security" in op for op in operations)
    assert not any("401" in op.get("responses", {}) for op in operations)
    assert "429" in spec["paths"]["/api/v1/chat"]["post"]["responses"]  # per-address limits still apply
    assert http.get("/api/v1/chat/result/x").status_code == 404  # and indeed no key is asked for
