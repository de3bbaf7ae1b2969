"""download() under a rate limit (issue 15 item 7), with the splice reader and with aiohttp.

No tight timing: a limit can only make a download slower, so a lower bound on its duration
(what the pauses alone add up to) is safe to assert; the precise ±10 % is bench/'s.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import time
from pathlib import Path

import pytest

from uidt.testing.httpserver import TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.progress import Progress
from uidt.transfers.throttle import Throttle
from uidt.transfers.tokenbucket import burst_for

KiB = 1024
PATH = "/limit/file.bin"


@pytest.fixture(autouse=True, params=["splice", "aiohttp"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the given body reader (``download`` here is patched to use it)."""
    raw = request.param == "splice"
    patched = functools.partial(sys.modules["uidt.transfers.download"].download, raw_http=raw)
    monkeypatch.setattr(sys.modules[__name__], "download", patched)
    return str(request.param)


async def test_a_limited_download_takes_at_least_what_its_limit_allows(
    server: TransferTestServer, tmp_path: Path
) -> None:
    """256 KiB at 512 KiB/s: at least 0.4 s of pauses, every byte counted once."""
    data = os.urandom(256 * KiB)
    server.add_file(PATH, data)
    rate = 512 * KiB
    throttle = Throttle(rate)
    started = time.monotonic()
    result = await asyncio.wait_for(
        download(server.url(PATH), tmp_path / "out.bin", throttle=throttle), 30
    )
    seconds = time.monotonic() - started
    assert (tmp_path / "out.bin").read_bytes() == data
    assert throttle.taken == len(data) == result.bytes_received
    assert seconds >= (len(data) - burst_for(rate)) / rate * 0.95


async def test_a_limit_changed_while_running_applies_without_a_new_request(
    server: TransferTestServer, tmp_path: Path
) -> None:
    """At 32 KiB/s the 2 MiB file would take a minute; lifted after 24 KiB it ends at once,
    in the same request, nothing sent twice."""
    data = os.urandom(2048 * KiB)
    server.add_file(PATH, data)
    throttle = Throttle(32 * KiB)
    enough = asyncio.Event()

    def progress(p: Progress) -> None:
        if p.done >= 24 * KiB:
            enough.set()

    task = asyncio.create_task(
        download(server.url(PATH), tmp_path / "out.bin", throttle=throttle, on_progress=progress)
    )
    await asyncio.wait_for(enough.wait(), 30)
    assert not task.done()
    assert throttle.taken < 256 * KiB  # the limit holds the reader back
    throttle.set_share(None)
    throttle.set_own(None)
    result = await asyncio.wait_for(task, 20)
    assert (tmp_path / "out.bin").read_bytes() == data
    assert result.attempts == 1
    assert len(server.gets()) == 1
    assert result.bytes_received == len(data) == throttle.taken


async def test_a_lower_share_slows_a_running_download(
    server: TransferTestServer, tmp_path: Path
) -> None:
    """Unlimited at first, then the daemon's share (8 KiB/s) applies to the next chunks."""
    data = os.urandom(512 * KiB)
    server.add_file(PATH, data)
    throttle = Throttle()
    throttle.set_share(8 * KiB)  # from the start: the reader reads in small steps
    task = asyncio.create_task(download(server.url(PATH), tmp_path / "out.bin", throttle=throttle))
    await asyncio.sleep(0.3)
    assert throttle.taken < 64 * KiB
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)  # a pausing reader stops at once when stopped
    assert not (tmp_path / "out.bin").exists()


async def test_a_stopped_limited_download_frees_the_servers_connection_at_once(
    server: TransferTestServer, tmp_path: Path
) -> None:
    """The hostile case of a slow reader: the server waits for a full receive window to open.
    Stopping the download resets the connection, so the server's handler ends now, not at
    its own timeout."""
    server.add_file(PATH, os.urandom(8 * 1024 * KiB))
    throttle = Throttle(16 * KiB)
    task = asyncio.create_task(download(server.url(PATH), tmp_path / "out.bin", throttle=throttle))
    await asyncio.wait_for(server.wait_bytes_sent(PATH, 256 * KiB), 10)  # buffers are filling
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    (record,) = server.gets()
    await asyncio.wait_for(record.finished.wait(), 5)
    for _ in range(500):  # bounded: 5 s
        if not server.open_connections():
            break
        await asyncio.sleep(0.01)
    assert server.open_connections() == 0
