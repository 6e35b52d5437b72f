"""POST /api/inngest takes the fast path (worker/fast_calls.py) and keeps every protection.

The differential tests run two real backends from the same settings: one as create_app
builds it (the calls take the fast path), one whose every request goes through the app's
full stack and router, as before the fast path. The same requests must get the same
answers (status, headers, body) and the SDK must see the same request URL. The other
tests check each protection on the fast path itself. Production mode's SignatureWindow on
POST is tested in test_serve.py (its POST goes through this path too).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import inngest
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.serving.limits import ServerLimits
from learninngest.worker.fast_calls import calls_to, serve_calls_directly
from tests.router_bypass import taken_by, through_router

CALL = json.dumps(
    {
        "ctx": {
            "run_id": "run-1",
            "attempt": 0,
            "fn_id": "probe",
            "stack": {"stack": []},
            "disable_immediate_execution": False,
            "use_api": False,
        },
        "event": {"name": "test/probe", "data": {"n": 1}},
        "events": [{"name": "test/probe", "data": {"n": 1}}],
        "steps": {},
        "use_api": False,
        "version": 1,
    }
).encode()
PROBE = {"fnId": "learninngest-probe", "stepId": "step"}
VARYING = {"date", "server-timing"}  # the clock and the handler's own durations


def with_probe(app: FastAPI, seen: list[str], fn_id: str = "probe") -> inngest.Function:
    """Serve a function that answers its event's data and records the URL the SDK was called at."""

    class RecordUrl(inngest.MiddlewareSync):
        def __init__(self, client: inngest.Inngest, raw_request: object) -> None:
            super().__init__(client, raw_request)
            seen.append(str(getattr(raw_request, "url", "")))

    client: inngest.Inngest = app.state.inngest

    @client.create_function(
        fn_id=fn_id, trigger=inngest.TriggerEvent(event="test/probe"), middleware=[RecordUrl]
    )
    async def probe(ctx: inngest.Context) -> Any:
        return ctx.event.data

    app.state.functions.add(probe)
    return probe


def answer(reply: httpx.Response, base: str) -> tuple[int, list[tuple[str, str]], str]:
    headers = [(k, v) for k, v in reply.headers.multi_items() if k not in VARYING]
    return reply.status_code, headers, reply.text.replace(base, "BASE")


@pytest.fixture
def pair(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Two backends from the same settings (parametrised): `fast` and `routed`."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    found: dict[str, Any] = {}
    with ExitStack() as stack:
        for name in ("fast", "routed"):
            settings = get_settings(
                inngest_base_url=f"http://127.0.0.1:{free_port()}",  # no engine: not needed here
                result_store_url=f"sqlite:///{tmp_path / name}.db",
                **overrides,
            )
            app = create_app(settings)
            seen: list[str] = []
            with_probe(app, seen)
            served = app if name == "fast" else through_router(app)
            server = stack.enter_context(BackgroundServer(served, name=name))
            found[name] = {"server": server, "seen": seen, "app": app}
        yield found


def both(pair: dict[str, Any], **request: Any) -> list[tuple[Any, ...]]:
    """The same request to both backends: what each client got and what each SDK saw."""
    results = []
    for name in ("fast", "routed"):
        server, seen = pair[name]["server"], pair[name]["seen"]
        seen.clear()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            reply = http.post("/api/inngest", **request)
        where = f"{server.host}:{server.port}"
        urls = [url.replace(server.url, "BASE").replace(where, "HOST") for url in seen]
        results.append((answer(reply, server.url), urls))
    return results


PLAIN = {"params": PROBE, "content": CALL, "headers": {"content-type": "application/json"}}


def test_a_call_gets_the_same_answer_as_through_the_router(pair: dict[str, Any]) -> None:
    fast, routed = both(pair, **PLAIN)
    assert fast == routed
    (status, headers, body), urls = fast
    assert (status, json.loads(body)) == (200, {"n": 1})
    assert urls == ["BASE/api/inngest?fnId=learninngest-probe&stepId=step"]
    names = {name for name, _ in headers}
    assert {"content-security-policy", "x-frame-options", "x-content-type-options"} <= names


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param({**PLAIN, "content": b"{nope"}, id="unreadable body (SdkBodyGuard's 400)"),
        pytest.param({**PLAIN, "params": {"fnId": "nobody", "stepId": "step"}}, id="unknown function"),
        pytest.param({**PLAIN, "params": {"probe": "trust"}}, id="trust probe"),
        pytest.param(
            {**PLAIN, "headers": {**PLAIN["headers"], "x-forwarded-prefix": "/user/ana/proxy/8000"}},
            id="forwarded prefix",
        ),
    ],
)
def test_other_calls_get_the_same_answers(pair: dict[str, Any], request_: dict[str, Any]) -> None:
    fast, routed = both(pair, **request_)
    assert fast == routed
    if "x-forwarded-prefix" in request_["headers"]:  # the SDK saw the URL the proxy was called at
        assert fast[1] == ["BASE/user/ana/proxy/8000/api/inngest?fnId=learninngest-probe&stepId=step"]


@pytest.mark.parametrize(
    "pair",
    [{"trusted_proxies": "127.0.0.1", "cors_origins": ["http://page.example"]}],
    indirect=True,
)
def test_trusted_proxies_and_cors_apply_as_through_the_router(pair: dict[str, Any]) -> None:
    forwarded = {
        "x-forwarded-proto": "https",
        "x-forwarded-for": "203.0.113.7",
        "origin": "http://page.example",
    }
    fast, routed = both(pair, **{**PLAIN, "headers": {**PLAIN["headers"], **forwarded}})
    assert fast == routed
    (_, headers, _), urls = fast
    assert ("access-control-allow-origin", "http://page.example") in headers
    assert urls == ["https://HOST/api/inngest?fnId=learninngest-probe&stepId=step"]  # the proxy's scheme


def test_a_handler_that_raises_gets_the_same_500(
    pair: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom(_request: object) -> None:
        raise RuntimeError("the handler failed")

    for name in ("fast", "routed"):
        monkeypatch.setattr(pair[name]["app"].state.functions._handler, "post", boom)
    fast, routed = both(pair, **PLAIN)
    assert fast == routed
    assert fast[0][0] == 500 and fast[0][2] == "Internal Server Error"


def raw_reply(server: BackgroundServer, data: bytes) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(data)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
            if b"\r\n\r\n" in reply:
                break
    return reply


@pytest.fixture
def backend(sqlite_path: Path) -> Iterator[tuple[BackgroundServer, FastAPI, list[str]]]:
    settings = get_settings(
        inngest_base_url=f"http://127.0.0.1:{free_port()}", result_store_url=f"sqlite:///{sqlite_path}"
    )
    app = create_app(settings)
    seen: list[str] = []
    with_probe(app, seen)
    # A short body deadline: the test below waits for its 408, not for a moment.
    with BackgroundServer(app, name="backend", limits=ServerLimits(body_timeout_s=0.5)) as server:
        yield server, app, seen


def test_two_host_headers_are_refused_before_the_fast_path(
    backend: tuple[BackgroundServer, FastAPI, list[str]],
) -> None:
    server, _, seen = backend
    head = (
        b"POST /api/inngest?fnId=learninngest-probe&stepId=step HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
        + f"Content-Length: {len(CALL)}\r\n\r\n".encode()
    )
    assert raw_reply(server, head + CALL).startswith(b"HTTP/1.1 400 ")
    assert seen == []


def test_a_body_that_does_not_arrive_is_408_before_the_fast_path(
    backend: tuple[BackgroundServer, FastAPI, list[str]],
) -> None:
    server, _, seen = backend
    head = (
        b"POST /api/inngest?fnId=learninngest-probe&stepId=step HTTP/1.1\r\nHost: x\r\n"
        + f"Content-Length: {len(CALL)}\r\n\r\n".encode()
    )
    assert raw_reply(server, head + CALL[:10]).startswith(b"HTTP/1.1 408 ")
    assert seen == []


def test_functions_added_and_removed_at_run_time_are_called(
    backend: tuple[BackgroundServer, FastAPI, list[str]],
) -> None:
    server, app, _ = backend
    later: list[str] = []
    with httpx.Client(base_url=server.url, timeout=30) as http:
        with_probe(app, later, fn_id="later")
        params = {"fnId": "learninngest-later", "stepId": "step"}
        added = http.post("/api/inngest", params=params, content=CALL)
        assert (added.status_code, added.json()) == (200, {"n": 1}) and len(later) == 1
        assert app.state.functions.remove("later")
        gone = http.post("/api/inngest", params=params, content=CALL)
        assert gone.status_code == 500 and "later" in gone.text and len(later) == 1


def test_calls_first_sends_only_post_to_the_path_down_the_fast_path() -> None:
    takes = calls_to("/api/inngest")
    cases = [
        ({"method": "POST", "path": "/api/inngest"}, "fast"),
        ({"method": "POST", "path": "/pre/api/inngest", "root_path": "/pre"}, "fast"),
        ({"method": "GET", "path": "/api/inngest"}, "full"),
        ({"method": "PUT", "path": "/api/inngest"}, "full"),
        ({"method": "POST", "path": "/api/inngest/"}, "full"),  # the router's slash redirect
        ({"method": "POST", "path": "/api/v1/chat"}, "full"),
        ({"method": "POST", "path": "/pre/api/inngest"}, "full"),  # no root path: not this route
    ]
    for scope, expected in cases:
        assert taken_by(takes, {"type": "http", **scope}) == (expected, None), scope
    assert taken_by(takes, {"type": "lifespan"}) == ("full", None)


def test_the_apps_body_limit_applies_on_the_fast_path() -> None:
    """The backend sets no body limit today; an app that does gets the same 413 either way."""

    class Echo:  # an ASGI app, as ServedFunctions is (a function would be a request handler)
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            message = await receive()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": message.get("body", b"")})

    echo = Echo()

    def limited() -> FastAPI:
        app = FastAPI(max_body_size=10)
        app.add_route("/api/inngest", echo, methods=["POST"])  # type: ignore[arg-type]
        serve_calls_directly(app, echo, "/api/inngest")
        return app

    replies = []
    fast, routed = limited(), limited()
    with BackgroundServer(fast) as one, BackgroundServer(through_router(routed)) as other:
        for server in (one, other):
            with httpx.Client(base_url=server.url, timeout=30) as http:
                small, large = (
                    http.post("/api/inngest", content=b"tiny"),
                    http.post("/api/inngest", content=b"x" * 11),
                )
            replies.append([answer(small, server.url), answer(large, server.url)])
    assert replies[0] == replies[1]
    assert [status for status, _, _ in replies[0]] == [200, 413]
