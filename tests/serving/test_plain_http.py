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
