"""PlainHttp (the engine's calls to apps, the backend's event sends): keep-alive, answers, failures.

Each test runs a real TCP server on 127.0.0.1 (asyncio.start_server) that answers as told.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from learninngest.serving.plain_http import CallTimedOut, PlainHttp, PlainHttpError, PlainTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]
"""Answers one request on a connection (its n-th, from 1); False closes the connection."""


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return head + await reader.readexactly(length)


@contextlib.asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """The server's URL and, per connection accepted, how many requests it read."""
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = len(connections)
        connections.append(0)
        try:
            while True:
                try:
                    await read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                connections[index] += 1
                if not await handler(reader, writer, connections[index]):
                    return
        finally:
            writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/api/inngest?fnId=f&stepId=step", connections
    finally:
        srv.close()


async def ok(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
    body = b'{"n": %d}' % n
    writer.write(
        b"HTTP/1.1 206 Partial Content\r\nX-Inngest-Req-Version: 1\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), body)
    )
    await writer.drain()
    return True


def test_calls_reuse_one_kept_connection() -> None:
    async def main() -> None:
        async with server(ok) as (url, connections):
            client = PlainHttp(5.0, 5.0)
            replies = [
                await client.post(url, b'{"x": 1}', {"content-type": "application/json"}) for _ in range(3)
            ]
            client.close()
        assert [r.content for r in replies] == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']
        assert replies[0].status == 206
        assert replies[0].headers["x-inngest-req-version"] == "1"
        assert connections == [3]

    asyncio.run(main())


def test_a_chunked_answer_is_read_whole() -> None:
    async def chunked(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> bool:
        writer.write(
            b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{"a\r\n5\r\n": 1}\r\n0\r\n\r\n'
        )
        await writer.drain()
        return True

    async def main() -> None:
        async with server(chunked) as (url, _):
            client = PlainHttp(5.0, 5.0)
            reply = await client.post(url, b"{}", {})
            client.close()
        assert (reply.status, reply.content) == (200, b'{"a": 1}')

    asyncio.run(main())


def test_an_http10_answer_ignores_transfer_encoding_and_runs_to_the_close() -> None:
    """As Go's client: a proxy answering HTTP/1.0 over a body it already de-chunked."""
    body = b'{"ok": true, "data": "' + b"x" * 3000 + b'"}'

    async def proxy(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> bool:
        # The head in pieces (the version split too), then the plain body, then the close.
        for piece in (
            b"HTTP/1.",
            b"0 201 Created\r\nContent-Type: application/json\r\nTransfer-",
            b"Encoding: chunked\r\nX-Inngest-Req-Version: 1\r\n\r\n" + body[:100],
            body[100:],
        ):
            writer.write(piece)
            await writer.drain()
        return False

    async def main() -> None:
        async with server(proxy) as (url, connections):
            client = PlainHttp(5.0, 5.0)
            first = await client.post(url, b"{}", {})
            second = await client.post(url, b"{}", {})
            client.close()
        assert (first.status, first.content) == (201, body)
        assert second.content == body
        assert "transfer-encoding" not in first.headers
        assert first.headers["x-inngest-req-version"] == "1"
        assert connections == [1, 1]  # an HTTP/1.0 answer closes its connection

    asyncio.run(main())


def test_an_http10_answer_with_content_length_reads_that_many_bytes() -> None:
    async def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> bool:
        writer.write(
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 8\r\n"
            b"Connection: keep-alive\r\n\r\n" + b'{"a": 1}'
        )
        await writer.drain()
        return True

    async def main() -> None:
        async with server(answer) as (url, connections):
            client = PlainHttp(5.0, 5.0)
            replies = [await client.post(url, b"{}", {}) for _ in range(2)]
            client.close()
        assert [(r.status, r.content) for r in replies] == [(200, b'{"a": 1}')] * 2
        assert connections == [2]  # kept alive, as the answer asked

    asyncio.run(main())


def test_a_kept_connection_closed_before_the_answer_is_retried_once_on_a_new_one() -> None:
    async def second_call_dropped(r: asyncio.StreamReader, w: asyncio.StreamWriter, n: int) -> bool:
        if n == 2:
            return False  # the app's keep-alive timer closed it as the call came in
        return await ok(r, w, n)

    async def main() -> None:
        async with server(second_call_dropped) as (url, connections):
            client = PlainHttp(5.0, 5.0)
            await client.post(url, b"{}", {})
            reply = await client.post(url, b"{}", {})
            client.close()
        assert reply.content == b'{"n": 1}'  # answered on a second connection
        assert connections == [2, 1]

    asyncio.run(main())


def test_a_new_connection_closed_before_the_answer_fails_the_call() -> None:
    async def drop(_r: asyncio.StreamReader, _w: asyncio.StreamWriter, _n: int) -> bool:
        return False

    async def main() -> None:
        async with server(drop) as (url, connections):
            client = PlainHttp(5.0, 5.0)
            with pytest.raises(PlainHttpError) as failed:
                await client.post(url, b"{}", {})
            client.close()
        assert failed.value.name == "ReadError"
        assert connections == [1]  # not retried: the app may have run the step

    asyncio.run(main())


def test_no_answer_within_the_read_timeout_fails_the_call() -> None:
    async def silent(r: asyncio.StreamReader, _w: asyncio.StreamWriter, _n: int) -> bool:
        await r.read()  # until the client gives up and closes
        return False

    async def main() -> None:
        async with server(silent) as (url, connections):
            client = PlainHttp(0.2, 5.0)
            with pytest.raises(CallTimedOut):
                await client.post(url, b"{}", {})
            client.close()
        assert connections == [1]

    asyncio.run(main())


def test_nobody_listening_is_a_connect_error() -> None:
    async def main() -> None:
        async with server(ok) as (url, _):
            pass  # closed: the port is free again
        client = PlainHttp(5.0, 5.0)
        with pytest.raises(PlainHttpError) as failed:
            await client.post(url, b"{}", {})
        assert failed.value.name == "ConnectError"

    asyncio.run(main())


def test_as_an_httpx_transport_it_answers_and_fails_as_httpx_does() -> None:
    async def main() -> None:
        async with server(ok) as (url, connections), httpx.AsyncClient(transport=PlainTransport()) as client:
            replies = [await client.post(url, json={"x": i}) for i in range(2)]
        assert [r.json() for r in replies] == [{"n": 1}, {"n": 2}]
        assert replies[0].status_code == 206
        assert replies[0].headers["X-Inngest-Req-Version"] == "1"
        assert connections == [2]
        async with httpx.AsyncClient(transport=PlainTransport()) as client:
            with pytest.raises(httpx.ConnectError):
                await client.post(url, json={})  # the server is gone

    asyncio.run(main())
