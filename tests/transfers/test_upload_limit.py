"""upload() under a rate limit (issue 15 item 7): tus and a plain PUT, changed while sending."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from uidt.testing.httpserver import TransferTestServer
from uidt.transfers.progress import Progress
from uidt.transfers.throttle import Throttle
from uidt.transfers.tokenbucket import burst_for
from uidt.transfers.upload import TusPolicy, upload

KiB = 1024


@pytest.mark.parametrize("tus", [TusPolicy.REQUIRE, TusPolicy.PREFER])
async def test_a_limited_upload_takes_at_least_what_its_limit_allows(
    server: TransferTestServer, tmp_path: Path, tus: TusPolicy
) -> None:
    data = os.urandom(256 * KiB)
    source = tmp_path / "up.bin"
    source.write_bytes(data)
    rate = 512 * KiB
    throttle = Throttle(rate)
    url = server.url("/files/") if tus is TusPolicy.REQUIRE else server.url("/put/up.bin")
    started = time.monotonic()
    result = await asyncio.wait_for(upload(source, url, tus=tus, throttle=throttle), 30)
    seconds = time.monotonic() - started
    if tus is TusPolicy.REQUIRE:
        assert bytes(next(iter(server.uploads.values()))) == data
    else:
        assert server.put_bodies["/put/up.bin"] == data
    assert throttle.taken == len(data) == result.bytes_sent
    assert seconds >= (len(data) - burst_for(rate)) / rate * 0.95


async def test_an_upload_limit_lifted_while_sending_ends_it_at_once(
    server: TransferTestServer, tmp_path: Path
) -> None:
    data = os.urandom(2048 * KiB)
    source = tmp_path / "up.bin"
    source.write_bytes(data)
    throttle = Throttle(32 * KiB)
    enough = asyncio.Event()

    def progress(p: Progress) -> None:
        if p.done >= 24 * KiB:
            enough.set()

    task = asyncio.create_task(
        upload(source, server.url("/files/"), throttle=throttle, on_progress=progress)
    )
    await asyncio.wait_for(enough.wait(), 30)
    assert throttle.taken < 256 * KiB
    throttle.set_own(None)
    result = await asyncio.wait_for(task, 20)
    assert bytes(next(iter(server.uploads.values()))) == data
    assert result.bytes_sent == len(data)  # nothing sent twice
    assert [r.method for r in server.requests].count("PATCH") == 1
