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

from uidt.connlimit import Slot
from uidt.daemon.httpd import HTTPServer, Request, Response, Router, json_response
from uidt.testing.malformed import GET, MALFORMED, POST

TIMEOUT_S = 0.5


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
    for method in ("GET", "POST"):
        router.add(method, "/v1/echo", echo)
        router.add(method, "/v1/ping", echo)  # what the shared table of malformed requests uses
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


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)


async def test_expect_100_continue_is_answered_before_the_body(served: Served) -> None:
    reader, writer = await asyncio.open_unix_connection(str(served.path))
    writer.write(
        POST.replace(b"ping", b"echo") + b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    )
    interim = await _read_head(reader)  # the client waits for it before sending the body
    writer.write(b"ok")
    final = await _read_head(reader)
    writer.close()
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert final.startswith(b"HTTP/1.1 200 OK")


async def test_a_body_too_large_for_expect_100_continue_is_refused_without_waiting_for_it(
    served: Served,
) -> None:
    reader, writer = await asyncio.open_unix_connection(str(served.path))
    writer.write(POST + b"Expect: 100-continue\r\nContent-Length: 200\r\n\r\n")  # and nothing more
    status, data = await _answer(reader)
    writer.close()
    assert status == 413, data
    assert b"100 Continue" not in data


async def test_a_pipelined_request_after_a_chunked_body_passes_the_strict_gate_too(
    served: Served,
) -> None:
    reader, writer = await asyncio.open_unix_connection(str(served.path))
    writer.write(
        POST + b"Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
        + b"GET /v1/ping HTTP/1.1\nHost: x\n\n"  # bare LF: what h11 alone would take
    )  # fmt: skip
    _, data = await _answer(reader)
    writer.close()
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert data.count(b"HTTP/1.1 ") == 2
    assert b"HTTP/1.1 400 Bad Request" in data
    assert b"does not end with CRLF" in data


async def test_pipelined_requests_in_one_write_keep_their_bodies_apart(served: Served) -> None:
    reader, writer = await asyncio.open_unix_connection(str(served.path))
    echo_post = POST.replace(b"ping", b"echo")
    writer.write(
        echo_post + b"Content-Length: 3\r\n\r\nabc"
        + echo_post + b"Transfer-Encoding: chunked\r\n\r\n1\r\nd\r\n0\r\n\r\n"
        + echo_post + b"Connection: close\r\nContent-Length: 1\r\n\r\ne"
    )  # fmt: skip
    _, data = await _answer(reader)
    writer.close()
    bodies = [
        json.loads(part[: part.index(b"}") + 1])["body"] for part in data.split(b"\r\n\r\n")[1:]
    ]
    assert bodies == ["abc", "d", "e"]


async def test_an_http_1_0_request_is_answered_and_its_connection_closed(served: Served) -> None:
    reader, writer = await asyncio.open_unix_connection(str(served.path))
    writer.write(b"GET /v1/echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    status, data = await _answer(reader)  # returns: closed after one answer
    writer.close()
    assert status == 200
    assert b"Connection: close" in data


async def test_many_lines_of_one_header_count_against_the_line_limit(served: Served) -> None:
    reader, writer = await asyncio.open_unix_connection(str(served.path))
    writer.write(GET + b"X-A: v\r\n" * 150 + b"\r\n")
    status, data = await _answer(reader)
    writer.close()
    assert status == 431, data


async def test_a_client_that_never_reads_its_answer_does_not_hold_its_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    router = _router()
    asked = asyncio.Event()

    async def big(request: Request) -> Response:
        asked.set()
        return Response(200, b"x" * (16 << 20))  # far more than the socket buffers hold

    router.add("GET", "/v1/big", big)
    path = tmp_path / "big.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(8)
    listener.setblocking(False)
    server = HTTPServer(router, header_timeout=TIMEOUT_S, idle_timeout=TIMEOUT_S)
    released = asyncio.Event()
    release = server.slots.release

    def release_and_tell(slot: Slot) -> None:
        release(slot)
        released.set()

    monkeypatch.setattr(server.slots, "release", release_and_tell)
    await server.start(listener)
    try:
        _, writer = await asyncio.open_unix_connection(str(path))
        try:
            writer.write(b"GET /v1/big HTTP/1.1\r\n\r\n")  # and never reads
            await asyncio.wait_for(asked.wait(), 10)
            await asyncio.wait_for(released.wait(), 10)  # the send timed out: the slot is free
            assert len(server.slots) == 0
        finally:
            writer.close()
    finally:
        await asyncio.wait_for(server.close(), 10)
