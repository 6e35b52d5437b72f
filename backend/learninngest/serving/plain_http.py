"""Keep-alive HTTP/1.1 requests on plain http:// between the kit's own processes, lean.

Why not httpx's transport: per request it walks its connection pool, opens anyio cancel
scopes and reads the answer through several stream layers; in the engine's profile at 32
calls in flight that was over a third of the process's CPU, more than the engine's own
work (docs/performance.md, issue 19). This client writes the request head and body in one
`write` and parses the answer with httptools (uvicorn's C parser, already a dependency) on
an asyncio protocol. Used by the engine's calls to apps (engine/wire/driver.py) and, as an
httpx transport (`PlainTransport`), by the backend's Inngest client to send events. https://
stays on httpx's own transport.

Connections are kept per host and port and reused last-in first-out. One whose server
hung up while idle is dropped before it is used (the protocol hears the close). A reused
connection that closes before any byte of the answer arrived is retried once on a new
connection (the app's keep-alive timer closed it just as the call was written); a new
connection is never retried. `timeout_s` is a read timeout: the call fails when no byte
arrived for that long, as httpx's read timeout does.

An HTTP/1.0 answer is read as Go's client (the Dev Server's) reads it: a Transfer-Encoding
header is dropped and ignored (RFC 7230 §3.3.3; Go's `parseTransferEncoding`), so the body
runs to Content-Length or else to the close. A proxy that answers HTTP/1.0 over a body it
already de-chunked, keeping the app's `Transfer-Encoding: chunked`, is read right.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httptools
import httpx

_HTTP10 = b"HTTP/1.0 "
_MAX_HEAD = 64 * 1024  # an HTTP/1.0 head longer than this goes to the parser as it is


class PlainHttpError(Exception):
    """The call failed without an answer; the name says how (ConnectError, ReadError, ...)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class CallTimedOut(PlainHttpError):
    def __init__(self, message: str) -> None:
        super().__init__("ReadTimeout", message)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    content: bytes


class _Connection(asyncio.Protocol):
    """One TCP connection: at most one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used = False  # answered a call before: a close before any byte may be the idle timer's
        self._parser = httptools.HttpResponseParser(self)
        self._reply: asyncio.Future[Reply] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._got_bytes = False
        self._headers_done = False
        self._head: bytearray | None = None  # the answer's first bytes, until its version is known
        self._last_read = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        self._last_read = self.loop.time()
        if self._reply is None or self._reply.done():
            self.close()  # bytes nobody asked for: the connection is not reusable
            return
        if self._head is not None:
            data = self._sniff(data)
            if not data:
                return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(PlainHttpError("RemoteProtocolError", "the app answered with an upgrade"))
        except httptools.HttpParserError as exc:
            self._fail(PlainHttpError("RemoteProtocolError", f"malformed HTTP answer ({exc})"))

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        reply = self._reply
        if reply is None or reply.done():
            return
        if self._headers_done and "content-length" not in self._headers and not self._chunked():
            self._complete()  # an answer delimited by the close (HTTP/1.0 style)
            return
        why = f" ({exc})" if exc else ""
        reply.set_exception(
            PlainHttpError(
                "RemoteProtocolError" if self._got_bytes else "ReadError",
                f"the connection closed before the whole answer arrived{why}",
            )
        )

    def _sniff(self, data: bytes) -> bytes:
        """What to parse of the answer's first bytes: an HTTP/1.0 head minus Transfer-Encoding.

        httptools (llhttp) honours Transfer-Encoding whatever the version; Go drops it on
        HTTP/1.0. b"" means wait for more of the head.
        """
        head = self._head
        assert head is not None
        head += data
        if len(head) < len(_HTTP10) and _HTTP10.startswith(head):
            return b""
        if not head.startswith(_HTTP10):
            self._head = None  # HTTP/1.1 (nearly always): parse as it came
            return bytes(head)
        end = head.find(b"\r\n\r\n")
        if end < 0 and len(head) <= _MAX_HEAD:
            return b""
        self._head = None
        if end < 0:
            return bytes(head)
        lines = [
            line
            for line in bytes(head[:end]).split(b"\r\n")
            if line.split(b":", 1)[0].strip().lower() != b"transfer-encoding"
        ]
        return b"\r\n".join(lines) + bytes(head[end:])

    # --- httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self._headers[key] = f"{self._headers[key]}, {text}" if key in self._headers else text

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._complete()

    # --- the call
    @property
    def fresh_close(self) -> bool:
        """Closed before any byte of the answer (retry on a new connection if it was reused)."""
        return self.closed and not self._got_bytes

    async def request(self, payload: bytes, timeout_s: float) -> Reply:
        assert self.transport is not None
        self._reply = self.loop.create_future()
        self._headers, self._body = {}, []
        self._got_bytes = self._headers_done = False
        self._head = bytearray()
        self._last_read = self.loop.time()
        self._timer = self.loop.call_at(self._last_read + timeout_s, self._check_timeout, timeout_s)
        try:
            self.transport.write(payload)
            return await self._reply
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _check_timeout(self, timeout_s: float) -> None:
        reply = self._reply
        if reply is None or reply.done():
            return
        due = self._last_read + timeout_s
        if self.loop.time() < due:  # bytes came meanwhile: wait from the last of them
            self._timer = self.loop.call_at(due, self._check_timeout, timeout_s)
            return
        reply.set_exception(CallTimedOut(f"no answer within {timeout_s:g}s"))
        self.close()

    def _chunked(self) -> bool:
        return "chunked" in self._headers.get("transfer-encoding", "").lower()

    def _complete(self) -> None:
        reply = self._reply
        if reply is None or reply.done():
            return
        status = self._parser.get_status_code()
        keep = self._parser.should_keep_alive() and not self.closed
        reply.set_result(Reply(status, self._headers, b"".join(self._body)))
        self.used = True
        if not keep:
            self.close()

    def _fail(self, exc: PlainHttpError) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class PlainHttp:
    def __init__(self, timeout_s: float, connect_timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._all: set[_Connection] = set()

    @property
    def size(self) -> int:
        return len(self._all)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Reply:
        return await self.request("POST", url, body, headers.items())

    async def request(
        self,
        method: str,
        url: str,
        body: bytes,
        headers: Iterable[tuple[str, str]],
        timeout_s: float | None = None,
    ) -> Reply:
        """`headers`: besides host and content-length, which are set here."""
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"not a plain http:// URL: {url}")
        host, port = parts.hostname, parts.port or 80
        target = f"{parts.path or '/'}{'?' + parts.query if parts.query else ''}"
        netloc = parts.netloc.rpartition("@")[2]
        lines = [f"{method} {target} HTTP/1.1", f"host: {netloc}"]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"content-length: {len(body)}")
        lines += [f"{name}: {value}" for name, value in headers]
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        key = (host, port)
        for _ in range(2):
            conn = await self._take(key)
            try:
                reply = await conn.request(payload, timeout_s or self.timeout_s)
            except PlainHttpError as exc:
                self._all.discard(conn)
                if conn.used and conn.fresh_close and not isinstance(exc, CallTimedOut):
                    continue  # the idle timer closed a kept connection as we wrote: once more
                raise
            except BaseException:
                conn.close()  # cancelled mid-call: the connection's state is unknown
                self._all.discard(conn)
                raise
            if conn.closed:
                self._all.discard(conn)
            else:
                self._idle.setdefault(key, []).append(conn)
            return reply
        raise PlainHttpError(
            "ReadError", "the connection closed before any answer, twice"
        )  # pragma: no cover

    async def _take(self, key: tuple[str, int]) -> _Connection:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
            self._all.discard(conn)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, conn = await loop.create_connection(lambda: _Connection(loop), key[0], key[1])
        except TimeoutError:
            raise PlainHttpError(
                "ConnectTimeout", f"no connection within {self.connect_timeout_s:g}s"
            ) from None
        except OSError as exc:
            raise PlainHttpError("ConnectError", str(exc) or type(exc).__name__) from None
        self._all.add(conn)
        return conn

    def close(self) -> None:
        conns, self._all, self._idle = list(self._all), set(), {}
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()


class PlainTransport(httpx.AsyncBaseTransport):
    """An httpx transport: http:// through PlainHttp, anything else through httpx's own.

    Failures come out as the httpx exceptions the caller expects (ConnectError, ReadError,
    RemoteProtocolError, ReadTimeout). The request body must be in memory (httpx's `json=`,
    `content=`), as the Inngest SDK's requests are.
    """

    _ERRORS: dict[str, type[httpx.TransportError]] = {
        "ConnectError": httpx.ConnectError,
        "ConnectTimeout": httpx.ConnectTimeout,
        "ReadError": httpx.ReadError,
        "ReadTimeout": httpx.ReadTimeout,
        "RemoteProtocolError": httpx.RemoteProtocolError,
    }

    def __init__(self, timeout_s: float = 30.0, connect_timeout_s: float = 10.0, **other: Any) -> None:
        self.plain = PlainHttp(timeout_s, connect_timeout_s)
        self.other = httpx.AsyncHTTPTransport(**other)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            return await self.other.handle_async_request(request)
        body = await request.aread()
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in request.headers.raw
            if k.lower() not in (b"host", b"content-length", b"transfer-encoding")
        ]
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            reply = await self.plain.request(request.method, str(request.url), body, headers, timeout)
        except PlainHttpError as exc:
            raise self._ERRORS.get(exc.name, httpx.TransportError)(str(exc), request=request) from exc
        return httpx.Response(reply.status, headers=list(reply.headers.items()), content=reply.content)

    async def aclose(self) -> None:
        self.plain.close()
        await self.other.aclose()
