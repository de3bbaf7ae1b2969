"""uidt's own reader on its own (rawhttp, rawbody), against the real loopback server (and two bad servers)."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from uidt.errors import TransferError
from uidt.testing.httpserver import Faults, TransferTestServer
from uidt.transfers import rawbody
from uidt.transfers.rawbody import copy_body, read_exactly
from uidt.transfers.rawhttp import (
    BadResponseError,
    BodyEndedError,
    ConnectFailedError,
    RawResponse,
    open_get,
)

PATH = "/raw/file.bin"


def _copy(response: RawResponse, dest: Path, *, chunk: int = 1 << 20) -> list[int]:
    """Copy the whole body into ``dest``; return the counts ``on_bytes`` saw."""
    counts: list[int] = []
    length = response.content_length
    assert length is not None
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        copy_body(response, fd, length, counts.append, chunk_bytes=chunk)
    finally:
        os.close(fd)
    return counts


@pytest.fixture(params=["splice", "recv"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Copy bodies with splice(2), or with the recv_into fallback of systems without it."""
    if request.param == "recv":
        monkeypatch.setattr(rawbody, "_HAS_SPLICE", False)
    return str(request.param)


async def test_get_and_copy_a_whole_body(
    server: TransferTestServer, payload: bytes, tmp_path: Path, reader: str
) -> None:
    server.add_file(PATH, payload)
    response = await asyncio.to_thread(open_get, server.url(PATH) + "?x=1", {"X-Test": "yes"})
    try:
        assert response.status == 200
        assert response.reason == "OK"
        assert response.content_length == len(payload)
        assert response.streamable
        assert response.headers.get("etag") == server.etag(PATH)
        counts = await asyncio.to_thread(_copy, response, tmp_path / "out", chunk=256 * 1024)
    finally:
        response.close()
    assert (tmp_path / "out").read_bytes() == payload
    assert sum(counts) == len(payload)
    assert max(counts) <= 256 * 1024
    assert server.requests[-1].path == PATH


async def test_a_range_request_gets_the_tail(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    response = await asyncio.to_thread(open_get, server.url(PATH), {"Range": "bytes=1000-"})
    try:
        assert response.status == 206
        assert (
            response.headers.get("Content-Range") == f"bytes 1000-{len(payload) - 1}/{len(payload)}"
        )
        await asyncio.to_thread(_copy, response, tmp_path / "tail")
    finally:
        response.close()
    assert (tmp_path / "tail").read_bytes() == payload[1000:]


@pytest.mark.parametrize(
    "faults",
    [Faults(redirect_to="/elsewhere"), Faults(no_length=True)],
    ids=["redirect", "chunked"],
)
async def test_redirects_and_chunked_bodies_are_not_streamable(
    server: TransferTestServer, payload: bytes, faults: Faults
) -> None:
    server.add_file(PATH, payload)
    server.set_faults(PATH, faults)
    response = await asyncio.to_thread(open_get, server.url(PATH), {})
    response.close()
    assert not response.streamable


async def test_a_body_that_ends_early_is_a_body_ended_error(
    server: TransferTestServer, payload: bytes, tmp_path: Path, reader: str
) -> None:
    server.add_file(PATH, payload)
    server.set_faults(PATH, Faults(truncate_after=100_000))
    response = await asyncio.to_thread(open_get, server.url(PATH), {})
    try:
        with pytest.raises(BodyEndedError, match="ended early"):
            await asyncio.to_thread(_copy, response, tmp_path / "out")
    finally:
        response.close()
    assert (tmp_path / "out").stat().st_size == 100_000


async def test_abort_from_another_thread_stops_a_waiting_copy(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    server.pause(PATH)
    response = await asyncio.to_thread(open_get, server.url(PATH), {})
    try:
        copying = asyncio.ensure_future(asyncio.to_thread(_copy, response, tmp_path / "out"))
        response.abort()  # before or during the blocked splice: either way the copy ends
        with pytest.raises(BodyEndedError, match="stopped"):
            await asyncio.wait_for(copying, 10)
    finally:
        response.close()
    assert response.aborted
    server.unpause(PATH)


async def test_a_silent_server_times_out(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    server.pause(PATH)
    response = await asyncio.to_thread(open_get, server.url(PATH), {}, read_timeout=0.1)
    try:
        with pytest.raises(TimeoutError):
            await asyncio.to_thread(_copy, response, tmp_path / "out")
    finally:
        response.close()
        server.unpause(PATH)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_an_unreachable_host_is_a_connect_failure() -> None:
    port = _closed_port()
    with pytest.raises(ConnectFailedError, match=f"cannot reach 127.0.0.1:{port}") as caught:
        open_get(f"http://127.0.0.1:{port}/x", {}, connect_timeout=2)
    assert caught.value.port == port
    assert isinstance(caught.value.os_error, ConnectionRefusedError)


class ScriptedServer:
    """Answers every connection with the same bytes and keeps the requests it got."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with self.listener:
            while True:
                try:
                    conn, _ = self.listener.accept()
                except OSError:
                    return
                with conn:
                    request = b""
                    while b"\r\n\r\n" not in request:
                        more = conn.recv(65536)
                        if not more:
                            break
                        request += more
                    self.requests.append(request)
                    conn.sendall(self.answer)

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.thread.join(5)


@pytest.fixture
def scripted() -> Iterator[Callable[[bytes], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(answer: bytes) -> ScriptedServer:
        servers.append(ScriptedServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_an_answer_that_is_not_http_is_a_bad_response(
    scripted: Callable[[bytes], ScriptedServer],
) -> None:
    server = scripted(b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(BadResponseError, match=r"not an HTTP/1\.x response"):
        open_get(f"http://127.0.0.1:{server.port}/x", {})


def test_the_request_carries_target_host_credentials_and_headers(
    scripted: Callable[[bytes], ScriptedServer], tmp_path: Path
) -> None:
    server = scripted(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    url = f"http://me:p%40ss@127.0.0.1:{server.port}/a/b.bin?c=1&d=2"
    response = open_get(url, {"Range": "bytes=0-"})
    try:
        assert response.leftover == b"hello"
        _copy(response, tmp_path / "out")
    finally:
        response.close()
    assert (tmp_path / "out").read_bytes() == b"hello"
    head = server.requests[0].decode("latin-1").split("\r\n")
    assert head[0] == "GET /a/b.bin?c=1&d=2 HTTP/1.1"
    credentials = base64.b64encode(b"me:p@ss").decode()
    for line in (f"Host: 127.0.0.1:{server.port}", f"Authorization: Basic {credentials}"):
        assert line in head
    assert "Range: bytes=0-" in head
    assert "Connection: close" in head


def test_an_informational_answer_is_left_to_aiohttp(
    scripted: Callable[[bytes], ScriptedServer],
) -> None:
    server = scripted(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n")
    response = open_get(f"http://127.0.0.1:{server.port}/x", {})
    response.close()
    assert response.status == 103
    assert not response.streamable


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "http:///x", "file:///etc/passwd"])
def test_only_http_and_https_urls_are_taken(url: str) -> None:
    with pytest.raises(TransferError, match="only absolute http:// and https://"):
        open_get(url, {})


def _read_then_copy(response: RawResponse, count: int, dest: Path) -> bytes:
    head = read_exactly(response, count)
    length = response.content_length
    assert length is not None
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        copy_body(response, fd, length - count, lambda _: None)
    finally:
        os.close(fd)
    return head


@pytest.mark.parametrize("count", [0, 10, 200 * 1024])
async def test_read_exactly_then_copy_the_rest(
    server: TransferTestServer, payload: bytes, tmp_path: Path, count: int
) -> None:
    server.add_file(PATH, payload)
    response = await asyncio.to_thread(open_get, server.url(PATH), {})
    try:
        head = await asyncio.to_thread(_read_then_copy, response, count, tmp_path / "out")
    finally:
        response.close()
    assert head == payload[:count]
    assert (tmp_path / "out").read_bytes() == payload[count:]


async def test_read_exactly_past_the_end_is_a_short_body(
    server: TransferTestServer, tmp_path: Path
) -> None:
    server.add_file(PATH, b"x" * 100)
    response = await asyncio.to_thread(open_get, server.url(PATH), {})
    try:
        with pytest.raises(BodyEndedError):
            await asyncio.to_thread(read_exactly, response, 101)
    finally:
        response.close()
