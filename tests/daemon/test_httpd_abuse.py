"""The control API's HTTP server under abuse, over a real Unix socket.

Every malformed request gets a 4xx and a closed connection, nothing escapes to the event loop,
and the server answers a good request afterwards. Slow and idle connections time out (the
timeouts are shrunk here), and a full server makes room for a client that sends its request.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from uidt.daemon import connlimit
from uidt.daemon.httpd import HTTPServer, Request, Response, Router, json_response

TIMEOUT_S = 0.3


async def echo(request: Request) -> Response:
    return json_response({"body": request.body.decode()})


class Gate:
    """A handler that holds its request until :meth:`open` (a busy connection)."""

    def __init__(self, expected: int = 1) -> None:
        self.event = asyncio.Event()
        self.all_in = asyncio.Event()
        self.expected = expected
        self.entered = 0

    async def __call__(self, request: Request) -> Response:
        self.entered += 1
        if self.entered >= self.expected:
            self.all_in.set()
        await self.event.wait()
        return json_response({"ok": True})


def _router(gate: Gate | None = None) -> Router:
    router = Router()
    router.add("GET", "/v1/echo", echo)
    router.add("POST", "/v1/echo", echo)
    router.add("GET", "/v1/gate", gate or Gate())
    return router


class Served:
    def __init__(self, server: HTTPServer, path: Path, escaped: list[dict[str, Any]]) -> None:
        self.server = server
        self.path = path
        self.escaped = escaped


async def _serve(tmp_path: Path, **options: Any) -> Served:
    path = tmp_path / "abuse.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    listener.setblocking(False)
    escaped: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: escaped.append(ctx))
    gate = options.pop("gate", None)
    server = HTTPServer(_router(gate), max_body=100, **options)
    await server.start(listener)
    return Served(server, path, escaped)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    s = await _serve(tmp_path, header_timeout=TIMEOUT_S, idle_timeout=TIMEOUT_S)
    try:
        yield s
    finally:
        await s.server.close()


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Everything the server sends until it closes: the first answer's status, and all of it."""
    data = await asyncio.wait_for(reader.read(), 10)  # returns only at the end of the stream
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data


async def _good_request(path: Path) -> int:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(b"GET /v1/echo HTTP/1.1\r\nConnection: close\r\n\r\n")
    status, _ = await _answer(reader)
    writer.close()
    return status


POST = b"POST /v1/echo HTTP/1.1\r\n"
GET = b"GET /v1/echo HTTP/1.1\r\n"

#: (name, request, expected status, half-close after sending)
MALFORMED: list[tuple[str, bytes, int, bool]] = [
    ("LF-only line endings", b"GET /v1/echo HTTP/1.1\nHost: x\n\n", 400, False),
    ("a header line ending in LF", GET + b"Host: x\n\r\n", 400, False),
    ("a bare CR in a header", GET + b"Host: x\ry\r\n\r\n", 400, False),
    ("an empty request line", b"\r\n", 400, False),
    ("two spaces in the request line", b"GET  /v1/echo HTTP/1.1\r\n\r\n", 400, False),
    ("an absolute-form target", b"GET http://x/v1/echo HTTP/1.1\r\n\r\n", 400, False),
    ("a NUL in the target", b"GET /v1/e\x00cho HTTP/1.1\r\n\r\n", 400, False),
    ("HTTP/2.0", b"GET /v1/echo HTTP/2.0\r\n\r\n", 400, False),
    ("HTTP/1.2", b"GET /v1/echo HTTP/1.2\r\n\r\n", 400, False),
    ("HTTP/0.9 (no version)", b"GET /v1/echo\r\n\r\n", 400, False),
    ("a lower-case version", b"GET /v1/echo http/1.1\r\n\r\n", 400, False),
    ("a space before the colon", GET + b"Host : x\r\n\r\n", 400, False),
    ("a folded header line", GET + b"X-A: a\r\n b\r\n\r\n", 400, False),
    ("a control character in a value", GET + b"X-A: a\x01b\r\n\r\n", 400, False),
    ("two Host headers", GET + b"Host: a\r\nHost: b\r\n\r\n", 400, False),
    ("a duplicate Content-Length", POST + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\nab", 400, False),
    ("differing Content-Lengths", POST + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, False),
    ("a Content-Length list", POST + b"Content-Length: 2, 2\r\n\r\nab", 400, False),
    ("a negative Content-Length", POST + b"Content-Length: -1\r\n\r\n", 400, False),
    ("a signed Content-Length", POST + b"Content-Length: +2\r\n\r\nab", 400, False),
    ("a hex Content-Length", POST + b"Content-Length: 0x2\r\n\r\nab", 400, False),
    ("a short body (then EOF)", POST + b"Content-Length: 10\r\n\r\nabc", 400, True),
    ("a short body (kept open)", POST + b"Content-Length: 10\r\n\r\nabc", 408, False),
    ("a head never finished", GET + b"Host: x\r\n", 408, False),
    ("a head cut by EOF", GET + b"Host: x\r\n", 400, True),
    ("a body over the limit", POST + b"Content-Length: 200\r\n\r\n" + b"x" * 200, 413, False),
    ("Transfer-Encoding and Content-Length",
     POST + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, False),
    ("Transfer-Encoding xchunked", POST + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400, False),
    ("Transfer-Encoding chunked, gzip",
     POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400, False),
    ("Transfer-Encoding gzip", POST + b"Transfer-Encoding: gzip\r\n\r\n", 400, False),
    ("two Transfer-Encoding headers",
     POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, False),
    ("Transfer-Encoding on HTTP/1.0",
     b"POST /v1/echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, False),
    ("a negative chunk size", POST + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nabcde\r\n0\r\n\r\n", 400, False),
    ("a signed chunk size", POST + b"Transfer-Encoding: chunked\r\n\r\n+5\r\nabcde\r\n0\r\n\r\n", 400, False),
    ("a non-hex chunk size", POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, False),
    ("an over-long chunk-size line",
     POST + b"Transfer-Encoding: chunked\r\n\r\n" + b"0" * 2000 + b"\r\n\r\n", 400, False),
    ("a chunk-size line without an end",
     POST + b"Transfer-Encoding: chunked\r\n\r\n" + b"1" * 70_000, 400, False),
    ("a chunk-size line ending in LF", POST + b"Transfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n", 400, False),
    ("a chunk without its CRLF", POST + b"Transfer-Encoding: chunked\r\n\r\n2\r\nabXY0\r\n\r\n", 400, False),
    ("a chunked body over the limit",
     POST + b"Transfer-Encoding: chunked\r\n\r\n" + b"c8\r\n" + b"x" * 200 + b"\r\n0\r\n\r\n", 413, False),
    ("a chunked body cut by EOF", POST + b"Transfer-Encoding: chunked\r\n\r\n5\r\nab", 400, True),
    ("too many header lines", GET + b"".join(b"X-%d: v\r\n" % i for i in range(200)) + b"\r\n", 431, False),
    ("a 70 kB header line", GET + b"X-Big: " + b"v" * 70_000 + b"\r\n\r\n", 431, False),
    ("an unsupported method", b"BREW /v1/echo HTTP/1.1\r\n\r\n", 400, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "status", "half_close"),
    [pytest.param(raw, status, half, id=name) for name, raw, status, half in MALFORMED],
)
async def test_every_malformed_request_gets_a_4xx_and_a_closed_connection(
    served: Served, raw: bytes, status: int, half_close: bool
) -> None:
    reader, writer = await asyncio.open_unix_connection(str(served.path))
    writer.write(raw)
    if half_close:
        writer.write_eof()
    await writer.drain()
    got, data = await _answer(reader)  # returns: the server closed the connection
    writer.close()
    assert got == status, data[:300]
    body = json.loads(data.partition(b"\r\n\r\n")[2])
    assert body["error"]["type"] == "protocol"
    assert body["error"]["message"]
    assert b"Connection: close" in data
    assert await _good_request(served.path) == 200
    assert served.escaped == []


async def test_a_well_formed_request_still_works_in_every_framing(served: Served) -> None:
    reader, writer = await asyncio.open_unix_connection(str(served.path))
    writer.write(
        POST + b"content-length:  2 \r\n\r\nab"  # any case, spaces around the value
        + POST + b"Transfer-Encoding: Chunked\r\n\r\n2;x=1\r\ncd\r\n0\r\nT: v\r\n\r\n"
        + b"POST /v1/echo HTTP/1.0\r\nContent-Length: 2\r\n\r\nef"  # 1.0: then closed
    )  # fmt: skip
    _, data = await _answer(reader)
    writer.close()
    assert [
        json.loads(part[: part.index(b"}") + 1])["body"] for part in data.split(b"\r\n\r\n")[1:]
    ] == [
        "ab",
        "cd",
        "ef",
    ]


async def test_an_idle_keep_alive_connection_is_closed_without_an_answer(served: Served) -> None:
    reader, writer = await asyncio.open_unix_connection(str(served.path))
    writer.write(GET + b"\r\n")
    status, data = await _answer(reader)  # the answer, then the end after the idle timeout
    writer.close()
    assert status == 200
    assert data.count(b"HTTP/1.1") == 1


async def test_a_slow_head_on_a_kept_alive_connection_gets_408(served: Served) -> None:
    reader, writer = await asyncio.open_unix_connection(str(served.path))
    writer.write(GET + b"\r\n" + GET)  # the second head never ends
    _, data = await _answer(reader)
    writer.close()
    assert data.startswith(b"HTTP/1.1 200")
    assert b"HTTP/1.1 408 Request Timeout" in data


async def _slowloris(path: Path, count: int) -> list[tuple[asyncio.StreamReader, Any]]:
    held = []
    for _ in range(count):
        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(b"GET /v1/echo HTTP/1.1\r\nX-Wait: ")  # and never more
        await writer.drain()
        held.append((reader, writer))
    return held


async def test_a_full_server_closes_the_oldest_waiting_connection_for_a_new_request(
    tmp_path: Path,
) -> None:
    served = await _serve(tmp_path, max_connections=4)  # default (10 s) timeouts: none expire
    try:
        held = await _slowloris(served.path, 4)
        assert await _good_request(served.path) == 200  # the 5th: the oldest gave way
        assert await asyncio.wait_for(held[0][0].read(), 10) == b""
        assert served.server.slots.evicted == 1
        for _ in range(10):  # and so on, each time
            assert await _good_request(served.path) == 200
        for _, writer in held:
            writer.close()
    finally:
        await served.server.close()
    assert served.escaped == []


async def test_a_server_full_of_busy_requests_refuses_a_newcomer_with_503(tmp_path: Path) -> None:
    gate = Gate(expected=2)
    served = await _serve(tmp_path, max_connections=2, gate=gate)
    try:
        busy = []
        for _ in range(2):
            reader, writer = await asyncio.open_unix_connection(str(served.path))
            writer.write(b"GET /v1/gate HTTP/1.1\r\nConnection: close\r\n\r\n")
            busy.append((reader, writer))
        await asyncio.wait_for(gate.all_in.wait(), 10)
        assert await _good_request(served.path) == 503
        gate.event.set()
        for reader, writer in busy:
            assert (await _answer(reader))[0] == 200
            writer.close()
        assert await _good_request(served.path) == 200
    finally:
        await served.server.close()


def test_the_connection_cap_fits_the_open_file_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connlimit.resource, "getrlimit", lambda _what: (1024, 4096))
    assert connlimit.connection_cap(256) == 128  # a quarter of 1,024 for the two servers
    assert connlimit.connection_cap(50) == 50
    monkeypatch.setattr(connlimit.resource, "getrlimit", lambda _what: (20, 4096))
    assert connlimit.connection_cap(256) == 2
