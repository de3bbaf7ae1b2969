"""serve_web: a real uvicorn server on loopback inside the test's loop; SSE over real HTTP."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from uidt.errors import UidtError
from uidt.web.server import WebBindError, WebServer, require_loopback, serve_web

from .conftest import APP
from .fake_runtime import FakeRuntime


@pytest.fixture
async def server(runtime: FakeRuntime) -> AsyncIterator[WebServer]:
    web = await serve_web(runtime, "127.0.0.1", 0)
    try:
        yield web
    finally:
        await web.close()


@pytest.fixture
async def session(server: WebServer, runtime: FakeRuntime) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        url = runtime.web_login()
        assert url is not None
        async with http.get(url, allow_redirects=False) as response:
            assert response.status == 303
        yield http


async def read_events(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    """Parse ``event: state`` messages from a server-sent-events body."""
    event, data = "", ""
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
        elif not line and event == "state":
            yield json.loads(data)
            event, data = "", ""


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::", "10.0.0.1"])
def test_non_loopback_hosts_are_refused(host: str) -> None:
    with pytest.raises(WebBindError) as raised:
        require_loopback(host)
    assert isinstance(raised.value, UidtError)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    require_loopback(host)


async def test_serve_web_refuses_a_public_address(runtime: FakeRuntime) -> None:
    with pytest.raises(WebBindError):
        await serve_web(runtime, "0.0.0.0", 0)


async def test_port_zero_picks_a_free_port_and_sets_the_login_hook(
    server: WebServer, runtime: FakeRuntime
) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert int(server.url.rsplit(":", 1)[1]) > 0
    first, second = runtime.web_login(), server.login_url()
    assert first is not None
    assert first.startswith(f"{server.url}/login?token=")
    assert first != second, "every login link is new (and works once)"


async def test_the_daemons_signal_handlers_are_left_alone(runtime: FakeRuntime) -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    web = await serve_web(runtime, "127.0.0.1", 0)
    during = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    await web.close()
    after = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    assert before == during == after


async def test_without_a_cookie_the_real_server_says_401(server: WebServer) -> None:
    async with aiohttp.ClientSession() as http, http.get(server.url + "/") as response:
        assert response.status == 401


async def test_events_push_the_view_when_it_changes(
    server: WebServer, session: aiohttp.ClientSession, runtime: FakeRuntime
) -> None:
    async with session.get(server.url + "/api/events") as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response)
        async with asyncio.timeout(10):
            first = await anext(events)
            assert 'value="0.5000"' in first["html"]
            runtime.set_progress(APP, 1, 750)
            second = await anext(events)
            assert second["version"] > first["version"]
            assert 'value="0.7500"' in second["html"]
            runtime.user_stop(APP)
            third = await anext(events)
            assert APP not in third["html"].split('id="h-waiting"')[0]


async def test_a_notification_wakes_the_stream(
    server: WebServer, session: aiohttp.ClientSession, runtime: FakeRuntime
) -> None:
    from uidt.store.record import NotificationRecord

    async with session.get(server.url + "/api/events") as response:
        events = read_events(response)
        async with asyncio.timeout(10):
            await anext(events)
            for sink in runtime.notification_sinks:
                sink(
                    "post",
                    NotificationRecord(
                        APP, 4, {"title": "Upload failed: 404", "text": ""}, None, False
                    ),
                )
            update = await anext(events)
            assert "Upload failed: 404" in update["html"]


async def test_close_ends_open_streams_and_detaches(
    runtime: FakeRuntime,
) -> None:
    web = await serve_web(runtime, "127.0.0.1", 0)
    assert len(runtime.notification_sinks) == 1
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        url = runtime.web_login()
        assert url is not None
        async with http.get(url) as landing:
            assert landing.status == 200
        async with http.get(web.url + "/api/events") as response:
            events = read_events(response)
            await asyncio.wait_for(anext(events), timeout=10)
            await asyncio.wait_for(web.close(), timeout=10)
            rest = [e async for e in events]
            assert rest == []
    assert runtime.notification_sinks == []
    assert runtime.web_login() is None


async def test_stop_over_real_http(
    server: WebServer, session: aiohttp.ClientSession, runtime: FakeRuntime
) -> None:
    async with session.get(server.url + "/") as page:
        text = await page.text()
    csrf = text.split('name="csrf-token" content="')[1].split('"')[0]
    async with session.post(
        f"{server.url}/api/apps/{APP}/stop",
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    ) as response:
        assert response.status == 200
    assert runtime.stopped == [APP]
