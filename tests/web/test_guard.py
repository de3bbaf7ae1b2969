"""The Task Manager's port under abuse: half-open heads time out, a full server makes room.

The port is loopback TCP, reachable by every local user; these run the attack from this
process (``tests/e2e/test_abuse.py`` runs it as a second local user against a real daemon).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp
import pytest

from uidt.testing.malformed import MALFORMED
from uidt.web.server import WebServer, serve_web

from .fake_runtime import FakeRuntime

TIMEOUT_S = 0.5


async def _half_open(
    web: WebServer, count: int
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    parts = urlsplit(web.url)
    held = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(b"GET /api/state HTTP/1.1\r\nHost: x\r\nX-Wait: ")  # and never more
        await writer.drain()
        held.append((reader, writer))
    return held


async def _login_status(web: WebServer) -> int:
    url = f"{web.url}/login?token=wrong"
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, allow_redirects=False) as response,
    ):
        return response.status


@pytest.fixture
async def small(runtime: FakeRuntime) -> AsyncIterator[WebServer]:
    web = await serve_web(runtime, "127.0.0.1", 0, header_timeout=TIMEOUT_S, max_connections=4)
    try:
        yield web
    finally:
        await web.close()


async def test_a_half_open_request_head_gets_408_after_the_header_timeout(
    small: WebServer,
) -> None:
    [(reader, writer)] = await _half_open(small, 1)
    answer = await asyncio.wait_for(reader.read(), 10)  # returns: closed by the server
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout")


async def test_a_full_port_closes_the_oldest_half_open_connection_for_a_real_request(
    runtime: FakeRuntime,
) -> None:
    web = await serve_web(runtime, "127.0.0.1", 0, max_connections=4)  # 10 s: none expires
    try:
        held = await _half_open(web, 4)
        assert await _login_status(web) < 500  # answered (the wrong token: a 4xx page)
        assert await asyncio.wait_for(held[0][0].read(), 10) == b""
        for _ in range(5):
            assert await _login_status(web) < 500
        for _, writer in held:
            writer.close()
    finally:
        await web.close()


async def test_a_port_full_of_busy_answers_refuses_a_newcomer_with_503(
    runtime: FakeRuntime,
) -> None:
    web = await serve_web(runtime, "127.0.0.1", 0, max_connections=1)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            url = runtime.web_login()
            assert url is not None
            async with http.get(url, allow_redirects=False) as response:
                assert response.status == 303
            async with http.get(f"{web.url}/api/events") as stream:  # a long answer: busy
                assert stream.status == 200
                await stream.content.readline()
                assert await _login_status(web) == 503
        assert await _login_status(web) < 500  # the stream ended: room again
    finally:
        await web.close()


async def test_every_malformed_request_gets_a_4xx_and_a_close_on_the_port_too(
    small: WebServer,
) -> None:
    """The control socket's table, on uvicorn's h11 (one server for all: each start costs)."""
    parts = urlsplit(small.url)
    failed = []
    for name, raw, _, half_close in MALFORMED:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(raw.replace(b"/v1/ping", b"/login"))
        if half_close:
            writer.write_eof()
        data = await asyncio.wait_for(reader.read(), 10)  # returns: the server closed it
        writer.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
        if not 400 <= status < 500:
            failed.append((name, data[:100]))
        assert await _login_status(small) < 500
    assert failed == []
