"""A download another host takes over: the old run stops writing, the new one finishes it.

Two runs of the engine with fences naming two lease generations of one job, as the workers of
two hosts would run them on a shared store (docs/fleet.md): the run with the newer lease raises
the fence, the old one sees it and stops before its next write, checkpoint or rename, and the
new one resumes from the part file once the old one let go of it.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from uidt.errors import DestinationBusyError, FencedOffError, RetryLaterError
from uidt.testing.fleetruns import overlaps, read_runs
from uidt.testing.httpserver import TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.fence import Fence, Lease, fence_path
from uidt.transfers.partfile import part_path

PATH = "/taken.bin"
DEADLINE_S = 20.0
KiB = 1024


async def _until(check: Any, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while not check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("reader", ["splice", "aiohttp", "splice-segmented"])
async def test_the_old_run_stops_writing_once_the_new_holder_raised_its_fence(
    server: TransferTestServer,
    payload: bytes,
    tmp_path: Path,
    reader: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="uidt.transfers")
    dest = tmp_path / "taken.bin"
    sha = hashlib.sha256(payload).hexdigest()
    server.add_file(PATH, payload)
    server.throttle(PATH, 512 * KiB)
    options: dict[str, Any] = {"raw_http": reader != "aiohttp", "sha256": sha}
    if reader.endswith("segmented"):  # four ranges at once, each checking the fence
        options |= {"split": 4, "min_split_size": 256 * KiB}
    old = asyncio.create_task(
        download(server.url(PATH), dest, fence=Fence(dest, Lease("h0", 5)), **options)
    )
    await _until(lambda: server.bytes_sent(PATH) > 256 * KiB, "the old run to write")
    new = asyncio.create_task(
        download(server.url(PATH), dest, fence=Fence(dest, Lease("h1", 9)), **options)
    )
    with pytest.raises(FencedOffError, match="h1 took this transfer over"):
        await asyncio.wait_for(old, DEADLINE_S)
    server.throttle(PATH, None)
    result = await asyncio.wait_for(new, DEADLINE_S)
    assert dest.read_bytes() == payload
    if reader.endswith("segmented"):  # ranges resume from their last durable checkpoint only
        assert result.resumed_from >= 0
    else:
        assert result.resumed_from > 0  # the new holder went on from the old run's bytes
    assert not part_path(dest).exists()
    assert not fence_path(dest).exists()  # taken down once the file is in place
    log = tmp_path / "worker.log"
    log.write_text(caplog.text)
    runs = read_runs([log])
    assert [(r.host, r.generation, r.outcome) for r in runs] == [
        ("h0", 5, "FencedOffError"),
        ("h1", 9, "published"),
    ]
    assert overlaps(runs) == []  # the old run's writes ended before the new one's began


async def test_a_stale_run_starting_after_the_takeover_writes_nothing(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "late.bin"
    server.add_file(PATH, payload)
    Fence(dest, Lease("h1", 9)).raise_fence()  # the new holder's fence is up
    with pytest.raises(FencedOffError):
        await download(server.url(PATH), dest, fence=Fence(dest, Lease("h0", 5)))
    assert sorted(os.listdir(tmp_path)) == ["late.bin.uidt-fence"]
    assert server.bytes_sent(PATH) == 0


async def test_without_a_fence_nothing_changes(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "plain.bin"
    server.add_file(PATH, payload)
    await download(server.url(PATH), dest)
    assert dest.read_bytes() == payload
    assert sorted(os.listdir(tmp_path)) == ["plain.bin"]


async def test_a_replaced_run_that_does_not_let_go_makes_the_new_one_retry_later_not_fail(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    # the old run is stuck (a read the server never answers): it cannot see the fence yet
    dest = tmp_path / "stuck.bin"
    server.add_file(PATH, payload)
    Fence(dest, Lease("h0", 5)).raise_fence()
    stuck = os.open(part_path(dest), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(stuck, fcntl.LOCK_EX)
        fence = Fence(dest, Lease("h1", 9))
        fence.lock_wait_s = 0.2
        with pytest.raises(
            RetryLaterError,
            match="the run of h0 this host took the transfer over from has not let go",
        ):
            await download(server.url(PATH), dest, fence=fence)
    finally:
        os.close(stuck)
    assert server.bytes_sent(PATH) == 0
    # an ordinary second writer (no fence replaced) is still refused at once, naming the holder
    other = tmp_path / "other.bin"
    holder = os.open(part_path(other), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(DestinationBusyError):
            await download(server.url(PATH), other, fence=Fence(other, Lease("h1", 9)))
    finally:
        os.close(holder)
