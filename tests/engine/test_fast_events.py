"""POST /e/{key} takes the fast path (engine/http/fast_events.py) and answers as the route does.

The differential tests run two real engines from the same settings: one as
create_engine_app builds it (event sends skip the router), one whose every request goes
through the app's full stack and router, as before the fast path. The same requests must
get the same answers: status, headers (but the date) and body, byte for byte. Ids the engine
makes up are random, so those sends carry the SDK's id seed, or their ids are compared by
count and shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from learninngest.engine.app import create_engine_app
from learninngest.engine.http.fast_events import is_event_send
from learninngest.engine.ids import is_ulid
from learninngest.engine.run import intake
from learninngest.engine.settings import EngineSettings
from learninngest.kit.servers import BackgroundServer
from learninngest.serving.router_bypass import RouteFirst
from tests.router_bypass import taken_by, through_router

SEED = "1700000000000,AAECAwQFBgcICQ=="  # the SDK's x-inngest-event-id-seed: "<ms>,<10 bytes>"
GOOD = {"name": "app/thing.happened", "data": {"n": 1}}
VARYING = {"date"}
Answer = tuple[int, list[tuple[str, str]], bytes]


def under_prefix(app: ASGIApp, prefix: str) -> ASGIApp:
    """`app` mounted under `prefix`, as a Starlette Mount hands a request on: the prefix is
    the root path and stays in front of the path (the ASGI spec)."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "root_path": prefix}
        await app(scope, receive, send)

    return asgi


def reply_of(reply: httpx.Response, base: str) -> Answer:
    """Status, headers and body; the engine's own URL (a redirect's Location) as BASE."""
    headers = [(k, v.replace(base, "BASE")) for k, v in reply.headers.multi_items() if k not in VARYING]
    return reply.status_code, headers, reply.content


@pytest.fixture
def pair(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Two engines from the same settings (parametrised): `fast` and `routed`."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    prefix = overrides.pop("prefix", "")
    found: dict[str, Any] = {}
    with ExitStack() as stack:
        for name in ("fast", "routed"):
            app = create_engine_app(EngineSettings(db_path=None, **overrides))
            served: ASGIApp = app if name == "fast" else through_router(app)
            if prefix:
                served = under_prefix(served, prefix)
            server = stack.enter_context(BackgroundServer(served, name=f"engine-{name}"))
            found[name] = {"server": server, "app": app}
        yield found


def both(pair: dict[str, Any], method: str = "POST", path: str = "/e/key", **request: Any) -> list[Answer]:
    """The same request to both engines: what each client got."""
    answers = []
    for name in ("fast", "routed"):
        base = pair[name]["server"].url
        with httpx.Client(base_url=base, timeout=30) as http:
            answers.append(reply_of(http.request(method, path, **request), base))
    return answers


def body(answer: Answer) -> Any:
    return json.loads(answer[2])


def seeded(content: Any) -> dict[str, Any]:
    raw = content if isinstance(content, bytes) else json.dumps(content).encode()
    return {"content": raw, "headers": {"content-type": "application/json", "x-inngest-event-id-seed": SEED}}


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(GOOD, id="one event"),
        pytest.param([GOOD, {**GOOD, "id": "mine"}, {"name": "app/other"}], id="a list"),
        pytest.param(b"{nope", id="bad JSON"),
        pytest.param([GOOD, GOOD, {"name": ""}, GOOD], id="a bad event after two good ones"),
        pytest.param([{"name": "inngest/function.failed"}], id="a reserved name"),
        pytest.param({"name": "app/x", "data": [1]}, id="data not an object"),
        pytest.param("\u00e9v\u00e9nement", id="not an event (non-ASCII)"),
    ],
)
def test_a_send_gets_the_same_answer_as_through_the_router(pair: dict[str, Any], content: Any) -> None:
    fast, routed = both(pair, **seeded(content))
    assert fast == routed
    status, headers, _ = fast
    sent = content if isinstance(content, list) else [content]
    if status == 200:
        assert len(body(fast)["ids"]) == len(sent) and all(is_ulid(i) for i in body(fast)["ids"])
    names = {name for name, _ in headers}
    assert {"content-security-policy", "x-content-type-options", "x-inngest-server-kind"} <= names
    assert isinstance(pair["fast"]["app"].middleware_stack, RouteFirst)


def test_the_ids_before_a_bad_event_come_back_with_its_400(pair: dict[str, Any]) -> None:
    fast, routed = both(pair, **seeded([GOOD, GOOD, {"name": 3}]))
    assert fast == routed
    assert fast[0] == 400 and len(body(fast)["ids"]) == 2 and "event 2" in body(fast)["error"]


def test_a_send_again_with_its_seed_gets_the_same_ids(pair: dict[str, Any]) -> None:
    first = both(pair, **seeded([GOOD, GOOD]))
    again = both(pair, **seeded([GOOD, GOOD]))
    assert first[0] == first[1] == again[0] == again[1]


def test_unseeded_ids_differ_but_the_answers_have_the_same_shape(pair: dict[str, Any]) -> None:
    fast, routed = both(pair, json=[GOOD, GOOD])
    assert fast[:2] == routed[:2]
    for answer in (fast, routed):
        ids = body(answer)["ids"]
        assert len(ids) == 2 and all(is_ulid(i) for i in ids)
        assert answer[2] == json.dumps({"ids": ids, "status": 200}, separators=(",", ":")).encode()


def test_a_body_over_the_engines_limit_is_the_same_413(
    pair: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "MAX_BODY_BYTES", 100)
    fast, routed = both(pair, **seeded([GOOD] * 5))
    assert fast == routed
    assert fast[0] == 413 and body(fast)["ids"] == []


@pytest.mark.parametrize("pair", [{"event_key": "right"}], indirect=True)
def test_the_event_key_is_checked_the_same(pair: dict[str, Any]) -> None:
    wrong = both(pair, path="/e/wrong", **seeded(GOOD))
    assert wrong[0] == wrong[1]
    assert wrong[0][0] == 401 and body(wrong[0]) == {"ids": [], "status": 401, "error": "event key not found"}
    right = both(pair, path="/e/right", **seeded(GOOD))
    assert right[0] == right[1] and right[0][0] == 200


@pytest.mark.parametrize("pair", [{"signing_key": "signkey-test-" + "ab12" * 16}], indirect=True)
def test_cloud_mode_answers_the_same_without_the_dev_header(pair: dict[str, Any]) -> None:
    fast, routed = both(pair, **seeded(GOOD))
    assert fast == routed and fast[0] == 200
    assert "x-inngest-server-kind" not in {name for name, _ in fast[1]}


@pytest.mark.parametrize("pair", [{"prefix": "/user/ana/proxy/8288"}], indirect=True)
def test_under_a_root_path_the_send_is_the_same(pair: dict[str, Any]) -> None:
    fast, routed = both(pair, path="/user/ana/proxy/8288/e/key", **seeded(GOOD))
    assert fast == routed and fast[0] == 200
    elsewhere = both(pair, path="/user/bob/e/key", **seeded(GOOD))  # another prefix: no route
    assert elsewhere[0] == elsewhere[1] and elsewhere[0][0] == 404


def test_a_page_on_another_origin_gets_the_same_answers(pair: dict[str, Any]) -> None:
    origin = {"origin": "http://page.example"}
    sent = seeded(GOOD)
    fast, routed = both(pair, content=sent["content"], headers={**sent["headers"], **origin})
    assert fast == routed and fast[0] == 200
    preflight = {**origin, "access-control-request-method": "POST"}
    fast, routed = both(pair, method="OPTIONS", headers=preflight)
    assert fast == routed


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/e/key"),  # the route is POST only: 405
        ("PUT", "/e/key"),
        ("POST", "/e/"),  # no key: 404
        ("POST", "/e/key/"),  # the router's slash redirect
        ("POST", "/e/key/more"),
        ("POST", "/e/key?x=1"),
    ],
)
def test_other_requests_near_the_route_get_the_same_answers(
    pair: dict[str, Any], method: str, path: str
) -> None:
    fast, routed = both(pair, method=method, path=path, follow_redirects=False, **seeded(GOOD))
    assert fast == routed


def test_an_intake_that_raises_gets_the_same_500(
    pair: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_args: object, **_kwargs: object) -> list[str]:
        raise RuntimeError("the intake failed")

    for name in ("fast", "routed"):
        monkeypatch.setattr(pair[name]["app"].state.engine.intake, "ingest", boom)
    fast, routed = both(pair, **seeded(GOOD))
    assert fast == routed
    assert fast[0] == 500 and fast[2] == b"Internal Server Error"


def test_events_first_sends_only_post_to_the_route_down_the_fast_path() -> None:
    cases = [
        ({"method": "POST", "path": "/e/k1"}, ("fast", {"key": "k1"})),
        ({"method": "POST", "path": "/pre/e/k1", "root_path": "/pre"}, ("fast", {"key": "k1"})),
        ({"method": "POST", "path": "/e/a b"}, ("fast", {"key": "a b"})),
        ({"method": "GET", "path": "/e/k1"}, ("full", None)),
        ({"method": "POST", "path": "/e/"}, ("full", None)),
        ({"method": "POST", "path": "/e/k1/"}, ("full", None)),
        ({"method": "POST", "path": "/e/k1/x"}, ("full", None)),
        ({"method": "POST", "path": "/x/e/k1"}, ("full", None)),
        ({"method": "POST", "path": "/pre/e/k1"}, ("full", None)),  # no root path: not the route
        ({"method": "POST", "path": "/prefix/e/k1", "root_path": "/pre"}, ("full", None)),
    ]
    for scope, expected in cases:
        assert taken_by(is_event_send, {"type": "http", **scope}) == expected, scope
    assert taken_by(is_event_send, {"type": "lifespan"}) == ("full", None)
