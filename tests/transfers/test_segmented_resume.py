"""Segmented download (issue 15 item 6): broken ranges, stops, kills and resumes.

A real loopback server (per-connection rate limits with ``Faults(drip_bps=...)``), real part
files; ranges are 64 KiB at least here (``min_split_size``) so a 1 MiB file takes 4.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from uidt.errors import RetryLaterError
from uidt.testing.httpserver import Faults, RecordingSleep, RequestRecord, TransferTestServer
from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.download import download
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import checkpoint_path, part_path
from uidt.transfers.segments import SEGMENTS_KIND

KiB = 1024
MiB = 1024 * KiB
PATH = "/seg/file.bin"
SPLIT = {"split": 4, "min_split_size": 64 * KiB}


def _held(saved: dict[str, Any]) -> int:
    """Bytes a segmented checkpoint says the part file holds."""
    return sum(done - start for start, done, _ in saved["segments"])


@pytest.fixture
def data() -> bytes:
    return os.urandom(1 * MiB + 4321)


async def _taken(dest: Path, data: bytes, record: RequestRecord) -> None:
    """Until the part file at ``dest`` holds what ``record``'s answer sent (a real file, polled).

    Held before the reset of that answer: the reader has taken every byte sent before it, so
    where the range is asked again does not depend on how far behind the reader was (aiohttp
    drops what its buffer still holds when the connection is reset).
    """
    start, end = record.start, record.start + record.body_bytes
    while True:
        with contextlib.suppress(FileNotFoundError), part_path(dest).open("rb") as part:
            part.seek(start)
            if part.read(end - start) == data[start:end]:
                return
        await asyncio.sleep(0.01)  # polling a file another task writes; bounded by the test


async def test_a_range_reset_midway_is_asked_again_from_where_it_stopped(
    server: TransferTestServer,
    tmp_path: Path,
    data: bytes,
    reader_options: dict[str, Any],
    no_wait: RecordingSleep,
) -> None:
    dest = tmp_path / "out.bin"
    server.add_file(PATH, data)
    # the first three requests (the first range and two more) break after 100 000 bytes, once
    # the download has written those bytes
    taken = functools.partial(_taken, dest, data)
    faults = Faults(reset_after=100_000, times=3, drip_bps=2 * MiB, hold_reset=taken)
    server.set_faults(PATH, faults)
    result = await asyncio.wait_for(
        download(server.url(PATH), dest, sleep=no_wait, **SPLIT, **reader_options), 30
    )
    assert dest.read_bytes() == data
    assert Notice.RETRIED in result.notices
    broken = server.gets()[:3]
    assert [r.body_bytes for r in broken] == [100_000] * 3
    bounds = {len(data) * i // 4 for i in range(4)}
    again = [s for s in server.range_starts() if s not in bounds]
    # each broken range asked again exactly from where it stopped, nothing asked twice
    assert sorted(again) == sorted(r.start + 100_000 for r in broken)
    assert result.bytes_received == len(data)


async def test_stopped_midway_then_resumed_sends_no_byte_twice(
    server: TransferTestServer, tmp_path: Path, data: bytes
) -> None:
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=512 * KiB))
    dest = tmp_path / "out.bin"
    task = asyncio.create_task(download(server.url(PATH), dest, **SPLIT))
    await asyncio.wait_for(server.wait_bytes_sent(PATH, len(data) // 3), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not dest.exists()
    saved = Checkpoint(checkpoint_path(dest)).load()
    assert saved is not None
    assert saved["kind"] == SEGMENTS_KIND
    held = sum(done - start for start, done, _ in saved["segments"])
    assert held >= len(data) // 4
    assert part_path(dest).stat().st_size == len(data)
    server.set_faults(PATH)
    before = len(server.gets())
    result = await asyncio.wait_for(download(server.url(PATH), dest, **SPLIT), 30)
    assert dest.read_bytes() == data
    assert Notice.RESUMED in result.notices
    assert result.resumed_from == held
    assert result.bytes_received == len(data) - held  # not one byte fetched twice
    assert result.attempts == len(server.gets()) - before  # one request per unfinished range
    assert all(r.if_range == server.etag(PATH) for r in server.gets()[before:])


async def test_a_resume_after_the_file_changed_starts_over_with_the_new_one(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=512 * KiB))
    dest = tmp_path / "out.bin"
    task = asyncio.create_task(download(server.url(PATH), dest, **SPLIT))
    await asyncio.wait_for(server.wait_bytes_sent(PATH, len(data) // 3), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    new = os.urandom(len(data))
    server.change_file(PATH, new)
    server.set_faults(PATH)
    result = await asyncio.wait_for(download(server.url(PATH), dest, sleep=no_wait, **SPLIT), 30)
    assert dest.read_bytes() == new
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices


@pytest.mark.parametrize(
    "segments",
    [
        [[0, 600_000, 500_000], [500_000, 500_000, 1_000_000]],  # done past its end
        [[0, 0, 400_000], [500_000, 500_000, 1_052_897]],  # a gap
        [[0, 0, 524_288]],  # short of the total
    ],
    ids=["done-past-end", "gap", "short"],
)
async def test_a_tampered_segment_checkpoint_starts_over(
    server: TransferTestServer, tmp_path: Path, data: bytes, segments: list[list[int]]
) -> None:
    """A checkpoint whose ranges are not sound is never trusted (no hole read as data)."""
    server.add_file(PATH, data)
    dest = tmp_path / "out.bin"
    part_path(dest).write_bytes(b"\0" * len(data))
    part_path(dest).chmod(0o600)
    Checkpoint(checkpoint_path(dest)).save(
        {
            "version": 2,
            "kind": SEGMENTS_KIND,
            "url": server.url(PATH),
            "etag": server.etag(PATH),
            "last_modified": None,
            "total": len(data),
            "segments": segments,
        }
    )
    checkpoint_path(dest).chmod(0o600)
    result = await download(server.url(PATH), dest, **SPLIT)
    assert dest.read_bytes() == data
    assert Notice.RESTARTED_BAD_CHECKPOINT in result.notices
    assert result.resumed_from == 0


async def test_sigkill_mid_transfer_then_resume_resends_little(
    server: TransferTestServer, tmp_path: Path
) -> None:
    """A killed process saved no final checkpoint: the next run asks each range only from its
    last checkpoint (saved every half second), so what is fetched twice stays under half a
    second of each connection plus one read."""
    data = os.urandom(2 * MiB)
    rate = 256 * KiB
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=rate))
    dest = tmp_path / "out.bin"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uidt.transfers",
        "download",
        server.url(PATH),
        str(dest),
        "--split",
        "4",
        "--min-split-size",
        str(64 * KiB),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    # kill it just after a checkpoint that names some bytes (polled, bounded: a real process)
    for _ in range(1000):
        saved = Checkpoint(checkpoint_path(dest)).load()
        if saved and saved.get("kind") == SEGMENTS_KIND and _held(saved) >= len(data) // 4:
            break
        await asyncio.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    await process.communicate()
    assert process.returncode == -signal.SIGKILL
    saved = Checkpoint(checkpoint_path(dest)).load()
    assert saved is not None
    assert saved["kind"] == SEGMENTS_KIND
    held = _held(saved)
    assert held >= len(data) // 4
    assert part_path(dest).stat().st_size == len(data)
    server.set_faults(PATH)
    result = await asyncio.wait_for(download(server.url(PATH), dest, **SPLIT), 30)
    assert dest.read_bytes() == data
    assert result.resumed_from == held
    assert result.bytes_received == len(data) - held
    resent = server.bytes_sent(PATH) - len(data)
    assert 0 <= resent <= 4 * (rate // 2 + 128 * KiB)


async def test_ranges_whose_server_goes_quiet_are_asked_again(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """The server stops sending in the middle of every range (its body held): each range
    times out and is asked for again from where it stopped, and the file completes. Eight
    ranges time out at once: more than the retries of a run (6), so each range counts its own
    failures (one hiccup of the link is not eight failures in a row)."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))
    dest = tmp_path / "out.bin"
    task = asyncio.create_task(
        download(
            server.url(PATH),
            dest,
            sleep=no_wait,
            read_timeout=0.3,
            split=8,
            min_split_size=64 * KiB,
        )
    )
    await asyncio.wait_for(server.wait_bytes_sent(PATH, len(data) // 4), 20)
    server.pause(PATH)
    asked_again = asyncio.Event()

    def hook(_record: RequestRecord) -> None:
        if len(server.gets()) >= 16:  # every range asked again once
            asked_again.set()

    server.on_request = hook
    await asyncio.wait_for(asked_again.wait(), 20)
    server.unpause(PATH)
    result = await asyncio.wait_for(task, 30)
    assert dest.read_bytes() == data
    assert Notice.RETRIED in result.notices
    bounds = {len(data) * i // 8 for i in range(8)}
    assert any(start not in bounds for start in server.range_starts())


async def test_ranges_refused_past_the_retries_end_the_run_and_the_next_resumes(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """The other ranges keep getting 503: the run ends with RetryLaterError (the service
    reschedules it), the checkpoint keeps what the first range brought, the next run resumes."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=2 * MiB))

    def hook(record: RequestRecord) -> None:
        if record.method == "GET" and record.range not in (None, "bytes=0-"):
            server.set_faults(PATH, Faults(status=503, drip_bps=2 * MiB))

    server.on_request = hook
    dest = tmp_path / "out.bin"
    with pytest.raises(RetryLaterError, match="503"):
        await asyncio.wait_for(download(server.url(PATH), dest, sleep=no_wait, **SPLIT), 30)
    assert not dest.exists()
    saved = Checkpoint(checkpoint_path(dest)).load()
    assert saved is not None
    assert saved["kind"] == SEGMENTS_KIND
    held = _held(saved)
    server.on_request = None
    server.set_faults(PATH)
    result = await asyncio.wait_for(download(server.url(PATH), dest, **SPLIT), 30)
    assert dest.read_bytes() == data
    assert result.resumed_from == held
    assert result.bytes_received == len(data) - held


@pytest.mark.parametrize("unfinished", [1, 2, 3])
async def test_a_resume_opens_at_most_one_connection_per_unfinished_range(
    server: TransferTestServer, tmp_path: Path, data: bytes, unfinished: int
) -> None:
    """Four ranges, some complete: ``--split 4`` asks once per unfinished range, from its
    first missing byte, and never opens more connections than those ranges."""
    server.add_file(PATH, data)
    dest = tmp_path / "out.bin"
    bounds = [len(data) * i // 4 for i in range(5)]
    ranges = []
    for i in range(4):
        start, end = bounds[i], bounds[i + 1]
        ranges.append([start, start + (end - start) // 3 if i < unfinished else end, end])
    held = bytearray(len(data))
    for start, done, _ in ranges:
        held[start:done] = data[start:done]
    part_path(dest).write_bytes(bytes(held))
    part_path(dest).chmod(0o600)
    Checkpoint(checkpoint_path(dest)).save(
        {
            "version": 2,
            "kind": SEGMENTS_KIND,
            "url": server.url(PATH),
            "etag": server.etag(PATH),
            "last_modified": None,
            "total": len(data),
            "segments": ranges,
        }
    )
    checkpoint_path(dest).chmod(0o600)
    result = await asyncio.wait_for(download(server.url(PATH), dest, **SPLIT), 30)
    assert dest.read_bytes() == data
    assert result.resumed_from == sum(done - start for start, done, _ in ranges)
    assert sorted(r.start for r in server.gets()) == [done for _, done, end in ranges if done < end]
    assert result.connections == unfinished
