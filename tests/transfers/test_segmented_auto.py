"""``--split auto``: one connection first, more only while each added one helps.

A real loopback server: with a per-connection limit (``Faults(drip_bps=...)``) the governor
grows; with a limit on the whole path (the download's own rate limit) the added connection
does not help and is handed back; on plain loopback a file ends before the probe does. The
probe and trial windows are short here (:data:`FAST`); assertions are on the connections used
and the requests made, never on times.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from uidt.testing.httpserver import Faults, RecordingSleep, RequestRecord, TransferTestServer
from uidt.transfers.autosplit import AutoSplit
from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.download import download
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import checkpoint_path, part_path
from uidt.transfers.segments import SEGMENTS_KIND, load_segments
from uidt.transfers.throttle import Throttle

KiB = 1024
MiB = 1024 * KiB
PATH = "/auto/file.bin"
FAST = AutoSplit(probe_ms=300, probe_bytes=64 * KiB, settle_ms=100, trial_ms=400, worth_ms=500)
AUTO: dict[str, Any] = {"split": "auto", "min_split_size": 128 * KiB, "auto_split": FAST}


@pytest.fixture
def data() -> bytes:
    return os.urandom(3 * MiB + 4321)


async def test_a_per_connection_limit_makes_auto_grow(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """On uidt's own reader (copying threads cut and stopped mid-body); the other readers
    meet auto in the tests below (aiohttp) and in test_segmented_resplit (all three)."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(server.url(PATH), dest, sleep=no_wait, raw_http=True, **AUTO), 30
    )
    assert dest.read_bytes() == data
    assert result.connections >= 3  # 1 MiB/s each: every added one doubled, then 1.5x, ...
    gets = server.gets()
    assert gets[0].range == "bytes=0-"
    assert all(r.if_range == server.etag(PATH) for r in gets[1:])
    assert Notice.RETRIED not in result.notices
    assert not part_path(dest).exists()
    assert not checkpoint_path(dest).exists()


async def test_a_limit_on_the_whole_path_gets_the_trial_connection_handed_back(
    server: TransferTestServer, tmp_path: Path, data: bytes
) -> None:
    """The download's own rate limit (as a slow link would): two connections are no faster.
    The second is closed; the first, done with its range, takes the rest of the handed-back
    range from where the second stopped (its copying thread stops at once, even with more of
    its body already in the kernel's buffers)."""
    server.add_file(PATH, data)
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(server.url(PATH), dest, throttle=Throttle(2 * MiB), raw_http=True, **AUTO),
        30,
    )
    assert dest.read_bytes() == data
    assert result.connections == 2  # the trial's
    starts = [r.asked_start for r in server.gets()]
    assert len(starts) == 3
    first, trial, taken_up = starts
    assert first == 0
    assert trial < taken_up < len(data)  # the handed-back range, from where it stopped
    # the first connection stopped exactly where its range was cut: no byte fetched twice
    assert result.bytes_received == len(data)


async def test_plain_loopback_ends_before_the_probe_on_one_connection(
    server: TransferTestServer, tmp_path: Path, data: bytes
) -> None:
    """The default windows (0.5 s and 2 MiB of probe, no trial for a rest under 4 s): a
    loopback file is done long before a second connection could pay off."""
    server.add_file(PATH, data)
    result = await download(
        server.url(PATH), tmp_path / "out.bin", split="auto", min_split_size=128 * KiB
    )
    assert (tmp_path / "out.bin").read_bytes() == data
    assert result.connections == 1
    assert [r.range for r in server.gets()] == ["bytes=0-"]


@pytest.mark.parametrize(
    ("size", "faults"),
    [
        (200 * KiB, Faults()),  # under two least ranges
        (3 * MiB, Faults(no_ranges=True)),
        (3 * MiB, Faults(no_etag=True, no_last_modified=True)),
    ],
    ids=["small", "no-ranges", "no-validators"],
)
async def test_auto_never_splits_what_may_not_be(
    server: TransferTestServer, tmp_path: Path, size: int, faults: Faults
) -> None:
    body = os.urandom(size)
    server.add_file(PATH, body)
    server.set_faults(PATH, Faults(drip_bps=8 * MiB, **_fields(faults)))
    result = await asyncio.wait_for(download(server.url(PATH), tmp_path / "o", **AUTO), 30)
    assert (tmp_path / "o").read_bytes() == body
    assert len(server.gets()) == 1
    assert result.connections == 1


def _fields(faults: Faults) -> dict[str, Any]:
    return {
        name: getattr(faults, name)
        for name in ("no_ranges", "no_etag", "no_last_modified")
        if getattr(faults, name)
    }


async def test_an_added_connection_seeing_another_version_restarts_clean(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """The file changes when the second connection asks (a new ETag): never a mix."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))
    new = os.urandom(len(data))
    changed: list[RequestRecord] = []

    def hook(record: RequestRecord) -> None:
        if record.method == "GET" and record.range not in (None, "bytes=0-") and not changed:
            changed.append(record)
            server.change_file(PATH, new)
            server.set_faults(PATH)  # the restart over one connection at full speed

    server.on_request = hook
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(download(server.url(PATH), dest, sleep=no_wait, **AUTO), 30)
    assert dest.read_bytes() == new
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices
    assert server.gets()[-1].range is None


async def test_auto_stopped_after_growing_resumes_each_range(
    server: TransferTestServer, tmp_path: Path, data: bytes
) -> None:
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=512 * KiB))
    grown = asyncio.Event()

    def hook(record: RequestRecord) -> None:
        if record.method == "GET" and len(server.gets()) == 3:
            grown.set()

    server.on_request = hook
    dest = tmp_path / "out.bin"
    task = asyncio.create_task(download(server.url(PATH), dest, **AUTO))
    await asyncio.wait_for(grown.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    saved = Checkpoint(checkpoint_path(dest)).load()
    assert saved is not None
    assert saved["kind"] == SEGMENTS_KIND
    segments = load_segments(saved, len(data))
    assert segments is not None
    assert len(segments) >= 3
    held = sum(s.present for s in segments)
    assert 0 < held < len(data)
    server.set_faults(PATH)
    server.on_request = None
    before = len(server.gets())
    result = await asyncio.wait_for(download(server.url(PATH), dest, **AUTO), 30)
    assert dest.read_bytes() == data
    assert Notice.RESUMED in result.notices
    assert result.resumed_from == held
    assert result.bytes_received == len(data) - held  # not one byte fetched twice
    resumed = sorted(r.asked_start for r in server.gets()[before:])
    assert resumed == [s.done for s in segments if not s.complete]
