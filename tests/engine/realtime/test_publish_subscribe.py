"""Realtime end to end on a real engine: a function publishes with the Python SDK
(`inngest.experimental.realtime.publish`), a socket subscribed with a token receives it.

Also what the token decides (topics, expiry, publishing) and the other ways in and out:
streamed publishes, /publish/tee, the SSE route, and the "closing" close at shutdown.
"""

from __future__ import annotations

import json
import logging
import socket as sockets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import inngest
import pytest
from inngest.experimental import realtime
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.engine.harness import TEST_SIGNING_KEY, Host, local_engine, served
from tests.engine.realtime.support import frames, publish, socket, token_for

CHANNEL = "user:ana"


@pytest.fixture
def host() -> Iterator[Host]:
    with local_engine(paused=True) as engine:
        yield engine


def publishing_function(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="talk", trigger=inngest.TriggerEvent(event="test/talk"))
    async def talk(ctx: inngest.Context) -> str:
        async def say() -> int:
            for n in range(5):
                await realtime.publish(client, CHANNEL, "messages", {"n": n, "text": f"part {n}"})
            await realtime.publish(client, CHANNEL, "status", {"done": True})
            return 5

        await ctx.step.run("say", say)
        return "said"

    return [talk]


def test_a_function_publishes_and_a_subscriber_gets_every_message_in_order(host: Host) -> None:
    jwt = token_for(host, CHANNEL, "messages", "status")
    with served(host, "rt-app", publishing_function) as case, socket(host, jwt) as ws:
        event_id = case.send("test/talk")
        case.wait_run(event_id)

        got = frames(ws, 6)

    assert [f["kind"] for f in got] == ["data"] * 6
    assert [f["topic"] for f in got] == ["messages"] * 5 + ["status"]
    assert [f["data"] for f in got[:5]] == [{"n": n, "text": f"part {n}"} for n in range(5)]
    assert got[5]["data"] == {"done": True} and all(f["channel"] == CHANNEL for f in got)


def test_a_token_for_other_topics_gets_none_of_these(host: Host) -> None:
    other_topic = socket(host, token_for(host, CHANNEL, "status"))
    other_channel = socket(host, token_for(host, "user:bob", "messages"))
    mine = socket(host, token_for(host, CHANNEL, "messages"))
    with other_topic, other_channel, mine:
        for n in range(3):
            assert publish(host, CHANNEL, "messages", {"n": n}).status_code == 200
        assert publish(host, CHANNEL, "status", {"last": True}).status_code == 200
        assert publish(host, "user:bob", "messages", {"bob": True}).status_code == 200

        assert [f["data"] for f in frames(mine, 3)] == [{"n": 0}, {"n": 1}, {"n": 2}]
        # Each of the others gets only the one message its token names, nothing of ana's messages.
        assert [f["data"] for f in frames(other_topic, 1)] == [{"last": True}]
        assert [f["data"] for f in frames(other_channel, 1)] == [{"bob": True}]


def test_a_socket_without_a_valid_token_is_refused_401(host: Host) -> None:
    for jwt in ("", "not-a-token"):
        with pytest.raises(InvalidStatus) as refused:
            socket(host, jwt)
        assert refused.value.response.status_code == 401
        assert b"POST /v1/realtime/token" in refused.value.response.body


def test_a_token_expires_a_minute_after_it_is_made(host: Host) -> None:
    jwt = token_for(host, CHANNEL, "messages")
    with socket(host, jwt) as before:
        assert host.clock is not None
        host.clock.advance(61)  # the engine's clock, not a wait: the token is now a minute old

        with pytest.raises(InvalidStatus) as refused:
            socket(host, jwt)
        assert refused.value.response.status_code == 401
        assert b"token is expired" in refused.value.response.body
        # As on the server a token is checked when the socket opens: one already open goes on.
        assert publish(host, CHANNEL, "messages", {"still": "here"}).status_code == 200
        assert frames(before, 1)[0]["data"] == {"still": "here"}


def test_a_sub_message_adds_the_topics_of_another_token(host: Host) -> None:
    with socket(host, token_for(host, CHANNEL, "messages")) as ws:
        ws.send(json.dumps({"kind": "sub", "data": token_for(host, CHANNEL, "status")}))
        # Nothing answers a sub message; publish until the new topic is heard (it is at once here).
        for _ in range(50):
            publish(host, CHANNEL, "status", {"hello": True})
            got = frames(ws, 1)[0]
            if got["topic"] == "status":
                break
        assert got["data"] == {"hello": True}

        ws.send(
            json.dumps({"kind": "unsub", "data": [{"kind": "run", "channel": CHANNEL, "name": "status"}]})
        )
        ws.send(json.dumps({"kind": "sub", "data": "not-a-token"}))  # ignored, as there
        publish(host, CHANNEL, "messages", {"after": "unsub"})
        assert frames(ws, 1)[0]["data"] == {"after": "unsub"}


def test_text_is_sent_as_a_json_string_and_a_text_stream_in_chunks(host: Host) -> None:
    with socket(host, token_for(host, CHANNEL, "messages")) as ws:
        assert publish(host, CHANNEL, "messages", b"plain words").status_code == 200
        body = b"a" * 1024 + b"b" * 100
        assert publish(host, CHANNEL, "messages", body, **{"content-type": "text/stream"}).status_code == 200

        got = frames(ws, 5)

    assert got[0]["data"] == "plain words"
    start, first, second, end = got[1:]
    assert start["kind"] == "datastream-start" and end["kind"] == "datastream-end"
    assert start["data"] == end["data"] == first["stream_id"] == second["stream_id"]
    assert (first["data"], second["data"]) == ("a" * 1024, "b" * 100)


def test_a_subscribe_only_token_may_not_publish(host: Host) -> None:
    jwt = token_for(host, CHANNEL, "messages")

    reply = publish(host, CHANNEL, "messages", {"x": 1}, authorization=f"Bearer {jwt}")

    assert reply.status_code == 401 and "publishing" in reply.json()["error"]


def test_server_sent_events_carry_the_same_messages(host: Host) -> None:
    jwt = token_for(host, CHANNEL, "messages")
    with httpx.stream("GET", f"{host.url}/v1/realtime/sse?token={jwt}", timeout=30) as sse:
        assert sse.status_code == 200 and sse.headers["content-type"].startswith("text/event-stream")
        lines = sse.iter_lines()
        assert next(lines) == ":"  # subscribed
        publish(host, CHANNEL, "messages", {"via": "sse"})
        data = next(line for line in lines if line.startswith("data: "))

    assert json.loads(data[6:])["data"] == {"via": "sse"}


def test_the_engine_closes_its_sockets_when_it_stops() -> None:
    with local_engine() as host:
        ws = socket(host, token_for(host, CHANNEL, "messages"))
    with pytest.raises(ConnectionClosed) as closed, ws:
        ws.recv(timeout=30)
    # uvicorn closes open sockets (1012, service restart) before the engine's own shutdown
    # would send "closing" (1001); either tells the client to reconnect.
    assert closed.value.rcvd is not None and closed.value.rcvd.code in {1001, 1012}


def test_cloud_mode_wants_the_signing_key_to_make_tokens_and_publish() -> None:
    with local_engine(signing_key=TEST_SIGNING_KEY) as host:
        anonymous = Host(host.kind, host.url)
        with anonymous.rest() as rest:
            assert rest.post("/v1/realtime/token", json=[]).status_code == 401
        assert publish(anonymous, CHANNEL, "messages", {"x": 1}).status_code == 401

        with socket(host, token_for(host, CHANNEL, "messages")) as ws:
            assert publish(host, CHANNEL, "messages", {"signed": True}).status_code == 200
            assert frames(ws, 1)[0]["data"] == {"signed": True}


def test_cloud_mode_the_sdk_publishes_with_its_signing_key() -> None:
    with local_engine(signing_key=TEST_SIGNING_KEY) as host:
        jwt = token_for(host, CHANNEL, "messages", "status")
        signed = served(host, "rt-signed", publishing_function, signing_key=TEST_SIGNING_KEY)
        with signed as case, socket(host, jwt) as ws:
            case.wait_run(case.send("test/talk"))
            got = frames(ws, 6)

    assert [f["data"].get("n") for f in got[:5]] == list(range(5)) and got[5]["data"] == {"done": True}


def test_tee_forwards_raw_bytes_to_the_channels_stream_topic(host: Host) -> None:
    with socket(host, token_for(host, "run-1", "$stream")) as ws, host.rest() as rest:
        assert (
            rest.post("/v1/realtime/publish/tee?channel=run-1", content=b"data: raw\n\n").status_code == 200
        )
        assert ws.recv(timeout=30) == "data: raw\n\n"  # no message around it

        assert rest.post("/v1/realtime/publish/tee", content=b"x").status_code == 400
        too_big = rest.post("/v1/realtime/publish/tee?channel=run-1", content=b"X" * (1000 * 1024 + 1))
        assert too_big.status_code == 413


def test_a_text_stream_reaches_subscribers_as_it_arrives(host: Host) -> None:
    """Each KiB is forwarded when it comes, not when the body ends: the subscriber has the
    first chunk before the publisher sends the rest (the body timeout lets it through)."""
    with socket(host, token_for(host, CHANNEL, "messages")) as ws:
        before_the_rest: list[dict[str, Any]] = []

        def body() -> Iterator[bytes]:
            yield b"a" * 1024
            before_the_rest.extend(frames(ws, 2))  # waits for them: start, the first chunk
            yield b"b" * 100

        with host.rest() as rest:
            url = f"/v1/realtime/publish?channel={CHANNEL}&topic=messages"
            reply = rest.post(url, content=body(), headers={"content-type": "text/stream"})
        after = frames(ws, 2)
    print([f["kind"] for f in before_the_rest], [f["kind"] for f in after])
    assert reply.status_code == 200
    assert [f["kind"] for f in before_the_rest] == ["datastream-start", "chunk"]
    assert before_the_rest[1]["data"] == "a" * 1024
    assert [f["kind"] for f in after] == ["chunk", "datastream-end"]
    assert after[0]["data"] == "b" * 100


def test_a_stream_that_stops_arriving_is_cut_off_with_408(
    host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream with no part for IDLE_S (30 s; shortened here) is answered 408 and closed;
    subscribers get what arrived and the stream's end."""
    from learninngest.engine.realtime import streamed

    monkeypatch.setattr(streamed, "IDLE_S", 0.5)
    with socket(host, token_for(host, CHANNEL, "messages")) as ws:
        with _text_stream_begun(host, b"hello") as raw:  # then nothing more
            answer = _until_closed(raw)
        got = frames(ws, 3)
    print(answer.splitlines()[0], [f["kind"] for f in got])
    assert answer.startswith("HTTP/1.1 408")
    assert "no part of the stream arrived for 0.5 s" in answer
    assert [f["kind"] for f in got] == ["datastream-start", "chunk", "datastream-end"]
    assert got[1]["data"] == "hello"


def _text_stream_begun(host: Host, first: bytes) -> sockets.socket:
    """A raw connection that has sent a chunked `text/stream` publish's head and `first` part,
    and nothing more (httpx cannot leave a body unfinished)."""
    port = int(host.url.rsplit(":", 1)[1])
    raw = sockets.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        f"POST /v1/realtime/publish?channel={CHANNEL}&topic=messages HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\ncontent-type: text/stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    raw.sendall(head.encode() + f"{len(first):x}\r\n".encode() + first + b"\r\n")
    return raw


def _until_closed(raw: Any) -> str:
    """Everything the server sends until it closes the connection (head and body may come apart)."""
    received = b""
    while chunk := raw.recv(65536):
        received += chunk
    return received.decode()


def test_a_stream_refused_before_its_end_is_answered_and_its_connection_closed() -> None:
    """A streamed publish without the signing key is refused at its head; the engine does not
    go on reading (and dropping) the rest of the body for as long as the client sends it."""
    with (
        local_engine(signing_key=TEST_SIGNING_KEY) as host,
        _text_stream_begun(host, b"never read") as raw,
    ):
        answer = _sending_until_closed(raw)
    print(answer.splitlines()[0], [line for line in answer.splitlines() if "onnection" in line])
    assert answer.startswith("HTTP/1.1 401")
    assert "connection: close" in answer.lower()


def _sending_until_closed(raw: sockets.socket, within_s: float = 5.0) -> str:
    """What the server answers while the client goes on sending parts of its body, once the
    server has closed the connection: at once, after its answer (the kit's request-head
    deadline would close it after 10 s anyway; past `within_s` the test fails: the server
    kept reading a body nobody uses)."""
    raw.settimeout(0.2)
    received = b""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            chunk = raw.recv(65536)
        except TimeoutError:
            chunk = None
        except ConnectionResetError:
            break
        if chunk == b"":
            break  # closed by the server
        received += chunk or b""
        try:
            raw.sendall(b"5\r\nmore!\r\n")
        except OSError:  # reset or broken pipe: closed by the server
            break
    else:
        pytest.fail(f"the connection was still open after {within_s:g} s: {received[:200]!r}")
    return received.decode()


def test_a_publisher_that_goes_away_mid_stream_still_ends_it(
    host: Host, caplog: pytest.LogCaptureFixture
) -> None:
    """Subscribers get what arrived and the stream's end; the engine logs a warning, no 500."""
    caplog.set_level(logging.WARNING, logger="learninngest.engine")
    with socket(host, token_for(host, CHANNEL, "messages")) as ws:
        with _text_stream_begun(host, b"bye"):
            assert [f["kind"] for f in frames(ws, 1)] == ["datastream-start"]  # it is being read
        got = frames(ws, 2)  # the socket closed: the rest of the stream
    messages = [r.getMessage() for r in caplog.records]
    print([f["kind"] for f in got], messages)
    assert [f["kind"] for f in got] == ["chunk", "datastream-end"] and got[0]["data"] == "bye"
    assert any("the publisher went away" in m for m in messages)
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


def test_a_second_content_type_does_not_stream_a_body_past_its_timeout() -> None:
    """The route and the body timeout read the same (first) Content-Type."""
    from learninngest.engine.realtime.streamed import streams_body

    def scope(*types: bytes) -> dict[str, Any]:
        headers = [(b"content-type", t) for t in types]
        return {"type": "http", "method": "POST", "path": "/v1/realtime/publish", "headers": headers}

    assert streams_body(scope(b"text/stream"))
    assert not streams_body(scope(b"application/json", b"text/stream"))
    assert not streams_body(scope())


def test_tee_keeps_a_character_split_between_two_parts_whole(host: Host) -> None:
    text = "naïve café ☕" * 3
    raw = text.encode()
    cut = raw.index("☕".encode()) + 1  # inside the three bytes of the cup

    def body() -> Iterator[bytes]:
        yield raw[:cut]
        yield raw[cut:]

    with socket(host, token_for(host, "run-9", "$stream")) as ws:
        with host.rest() as rest:
            assert rest.post("/v1/realtime/publish/tee?channel=run-9", content=body()).status_code == 200
        received = ""
        while len(received) < len(text):
            received += ws.recv(timeout=30)
    assert received == text
