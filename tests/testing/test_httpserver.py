"""The fault-injecting loopback server speaks HTTP ranges and tus correctly."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from uidt.testing.httpserver import (
    Faults,
    RecordingSleep,
    ThreadedTransferTestServer,
    TransferTestServer,
)

DATA = bytes(range(256)) * 64


@pytest.fixture
async def server() -> AsyncIterator[TransferTestServer]:
    async with TransferTestServer() as running:
        running.add_file("/f", DATA)
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


async def test_whole_file_with_validators(
    server: TransferTestServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(server.url("/f")) as resp:
        assert resp.status == 200
        assert await resp.read() == DATA
        assert resp.headers["ETag"] == server.etag("/f")
        assert resp.headers["Accept-Ranges"] == "bytes"
        assert "Last-Modified" in resp.headers


async def test_range_and_if_range(server: TransferTestServer, http: aiohttp.ClientSession) -> None:
    headers = {"Range": "bytes=100-", "If-Range": server.etag("/f")}
    async with http.get(server.url("/f"), headers=headers) as resp:
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes 100-{len(DATA) - 1}/{len(DATA)}"
        assert await resp.read() == DATA[100:]
    async with http.get(server.url("/f")) as resp:
        last_modified = resp.headers["Last-Modified"]
    async with http.get(
        server.url("/f"), headers={"Range": "bytes=5-", "If-Range": last_modified}
    ) as resp:
        assert resp.status == 206
    server.change_file("/f")
    async with http.get(server.url("/f"), headers=headers) as resp:
        assert resp.status == 200  # validator no longer matches: the whole new file
        assert await resp.read() == DATA


async def test_closed_range(server: TransferTestServer, http: aiohttp.ClientSession) -> None:
    async with http.get(server.url("/f"), headers={"Range": "bytes=10-19"}) as resp:
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes 10-19/{len(DATA)}"
        assert await resp.read() == DATA[10:20]


async def test_unsatisfiable_range(server: TransferTestServer, http: aiohttp.ClientSession) -> None:
    async with http.get(server.url("/f"), headers={"Range": f"bytes={len(DATA)}-"}) as resp:
        assert resp.status == 416
        assert resp.headers["Content-Range"] == f"bytes */{len(DATA)}"


async def test_no_ranges_and_status_faults(
    server: TransferTestServer, http: aiohttp.ClientSession
) -> None:
    server.set_faults("/f", Faults(no_ranges=True))
    async with http.get(server.url("/f"), headers={"Range": "bytes=10-"}) as resp:
        assert resp.status == 200
        assert "Accept-Ranges" not in resp.headers
    server.set_faults("/f", Faults(status=429, retry_after="3", times=1))
    async with http.get(server.url("/f")) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "3"
    async with http.get(server.url("/f")) as resp:
        assert resp.status == 200


@pytest.mark.parametrize(
    "faults", [Faults(reset_after=1000), Faults(truncate_after=1000)], ids=["reset", "truncate"]
)
async def test_body_faults_cut_the_body(
    server: TransferTestServer, http: aiohttp.ClientSession, faults: Faults
) -> None:
    server.set_faults("/f", faults)
    with pytest.raises((aiohttp.ClientPayloadError, aiohttp.ClientConnectionError)):
        async with http.get(server.url("/f")) as resp:
            await resp.read()
    assert server.bytes_sent("/f") == 1000


async def test_reset_body_cuts_an_answer_in_flight(
    server: TransferTestServer, http: aiohttp.ClientSession
) -> None:
    server.set_faults("/f", Faults(drip_bps=4096, drip_chunk=1024))
    async with http.get(server.url("/f")) as resp:
        await resp.content.readexactly(1024)
        server.reset_body(server.gets()[0])
        with pytest.raises((aiohttp.ClientPayloadError, aiohttp.ClientConnectionError)):
            await resp.read()
    assert server.bytes_sent("/f") < len(DATA)


async def test_validator_faults(server: TransferTestServer, http: aiohttp.ClientSession) -> None:
    server.set_faults("/f", Faults(no_etag=True, times=0))  # not limited by times
    async with http.get(server.url("/f")) as resp:
        assert "ETag" not in resp.headers
        assert "Last-Modified" in resp.headers
    server.set_faults("/f", Faults(no_etag=True, no_last_modified=True))
    async with http.get(server.url("/f")) as resp:
        assert "ETag" not in resp.headers
        assert "Last-Modified" not in resp.headers
    old_etag = server.etag("/f")
    server.set_faults("/f", Faults(ignore_if_range=True))
    assert server.change_file("/f", DATA[::-1]) != old_etag
    headers = {"Range": "bytes=100-", "If-Range": old_etag}
    async with http.get(server.url("/f"), headers=headers) as resp:
        assert resp.status == 206  # a stale If-Range, ignored: the new file's tail
        assert await resp.read() == DATA[::-1][100:]
    assert server.change_file("/f", DATA, keep_etag=True) == server.etag("/f")


async def test_range_from_zero_sends_the_wrong_range(
    server: TransferTestServer, http: aiohttp.ClientSession
) -> None:
    server.set_faults("/f", Faults(range_from_zero=True))
    async with http.get(server.url("/f"), headers={"Range": "bytes=100-199"}) as resp:
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes 0-99/{len(DATA)}"
        assert await resp.read() == DATA[:100]


async def test_overstated_length_and_drip_chunk(
    server: TransferTestServer, http: aiohttp.ClientSession
) -> None:
    server.set_faults("/f", Faults(overstate_length=10, times=1))
    async with http.get(server.url("/f")) as resp:
        assert resp.content_length == len(DATA) + 10
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
    assert server.bytes_sent("/f") == len(DATA)
    server.set_faults("/f", Faults(drip_bps=1000, drip_chunk=100))
    async with http.get(server.url("/f"), headers={"Range": "bytes=0-299"}) as resp:
        sizes = [len(chunk) async for chunk in resp.content.iter_any()]
    assert sum(sizes) == 300
    assert len(sizes) >= 2  # the 300 bytes came in pieces, not at once


async def test_pause_holds_the_body(
    server: TransferTestServer, http: aiohttp.ClientSession
) -> None:
    server.pause("/f")
    async with http.get(server.url("/f")) as resp:
        reading = asyncio.create_task(resp.read())
        done, _ = await asyncio.wait({reading}, timeout=0.2)
        assert not done
        assert server.bytes_sent("/f") == 0
        server.unpause("/f")
        assert await asyncio.wait_for(reading, 10) == DATA


async def test_tus_protocol(server: TransferTestServer, http: aiohttp.ClientSession) -> None:
    tus = {"Tus-Resumable": "1.0.0"}
    async with http.options(server.url("/files/")) as resp:
        assert resp.headers["Tus-Version"] == "1.0.0"
        assert "creation" in resp.headers["Tus-Extension"]
    async with http.post(server.url("/files/"), headers={**tus, "Upload-Length": "6"}) as resp:
        assert resp.status == 201
        location = resp.headers["Location"]
    patch = {**tus, "Content-Type": "application/offset+octet-stream"}
    async with http.patch(
        server.url(location), headers={**patch, "Upload-Offset": "0"}, data=b"abc"
    ) as resp:
        assert resp.status == 204
        assert resp.headers["Upload-Offset"] == "3"
    async with http.patch(
        server.url(location), headers={**patch, "Upload-Offset": "1"}, data=b"x"
    ) as resp:
        assert resp.status == 409
    async with http.head(server.url(location), headers=tus) as resp:
        assert resp.headers["Upload-Offset"] == "3"
    async with http.post(server.url("/files/"), headers={"Upload-Length": "1"}) as resp:
        assert resp.status == 412


async def test_upload_faults_drop_lie_and_pick_methods(
    server: TransferTestServer, http: aiohttp.ClientSession
) -> None:
    tus = {"Tus-Resumable": "1.0.0"}
    async with http.post(server.url("/files/"), headers={**tus, "Upload-Length": "6"}) as resp:
        location = resp.headers["Location"]
    server.set_faults(location, Faults(offset_delta=5, methods=frozenset({"HEAD"})))
    async with http.head(server.url(location), headers=tus) as resp:
        assert resp.headers["Upload-Offset"] == "5"  # a lie: it holds nothing
    patch = {**tus, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
    async with http.patch(server.url(location), headers=patch, data=b"abc") as resp:
        assert resp.headers["Upload-Offset"] == "3"  # PATCH is not among the methods
    server.set_faults(location, Faults(drop=True))
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.head(server.url(location), headers=tus):
            pass
    assert bytes(server.uploads[location.rsplit("/", 1)[-1]]) == b"abc"


async def test_recording_sleep_does_not_wait() -> None:
    sleep = RecordingSleep()
    await sleep(1000.0)
    assert sleep.delays == [1000.0]


def test_threaded_variant_serves_synchronous_callers() -> None:
    import urllib.request

    with ThreadedTransferTestServer() as threaded:
        threaded.add_file("/t", DATA)
        threaded.set_faults("/t", Faults(drip_bps=10_000_000))
        with urllib.request.urlopen(threaded.url("/t"), timeout=10) as resp:
            assert resp.read() == DATA
        threaded.wait_bytes_sent("/t", len(DATA), timeout=5)
        assert threaded.bytes_sent("/t") == len(DATA)
        threaded.throttle("/t", None)
        threaded.pause("/t")
        threaded.unpause("/t")
        assert threaded.port > 0


async def test_given_a_tls_context_the_server_speaks_https(
    self_signed_tls: ssl.SSLContext, self_signed_cert: Path
) -> None:
    trusting = ssl.create_default_context(cafile=self_signed_cert)
    async with TransferTestServer(ssl_context=self_signed_tls) as tls:
        tls.add_file("/f", DATA)
        assert tls.url("/f").startswith("https://127.0.0.1:")
        async with (
            aiohttp.ClientSession() as session,
            session.get(tls.url("/f"), ssl=trusting) as resp,
        ):
            assert await resp.read() == DATA
