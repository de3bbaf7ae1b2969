"""Segmented download: a connection that is done takes over the far half of a slow range.

A real loopback server where only the last quarter of the file is slow
(``Faults(drip_bps=..., drip_from=...)``): the three fast ranges end at once, the slow one is
cut and its far half goes to an idle connection. Assertions are on requests and bytes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from uidt.testing.httpserver import Faults, RecordingSleep, RequestRecord, TransferTestServer
from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.download import download
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import checkpoint_path, part_path
from uidt.transfers.segments import SEGMENTS_KIND, load_segments

KiB = 1024
MiB = 1024 * KiB
PATH = "/seg/file.bin"
SPLIT = {"split": 4, "min_split_size": 32 * KiB}


@pytest.fixture
def data() -> bytes:
    return os.urandom(1 * MiB + 4321)


def _slow_last_quarter(server: TransferTestServer, data: bytes, bps: int) -> int:
    """Serve ``data`` with bodies from its last quarter on at ``bps``; that quarter's start."""
    server.add_file(PATH, data)
    slow = len(data) * 3 // 4
    server.set_faults(PATH, Faults(drip_bps=bps, drip_from=slow))
    return slow


async def test_an_idle_connection_takes_the_far_half_of_a_slow_range(
    server: TransferTestServer,
    tmp_path: Path,
    data: bytes,
    reader_options: dict[str, Any],
    no_wait: RecordingSleep,
) -> None:
    slow = _slow_last_quarter(server, data, 128 * KiB)
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(server.url(PATH), dest, sleep=no_wait, **SPLIT, **reader_options), 30
    )
    assert dest.read_bytes() == data
    starts = server.range_starts()
    bounds = [len(data) * i // 4 for i in range(4)]
    assert starts[:4] == bounds
    # more requests, each for a far part of the slow quarter (cut again while still slow)
    assert len(starts) >= 5
    assert all(slow < start < len(data) for start in starts[4:])
    assert result.attempts == len(starts)
    # the slow quarter came once: the cut range stopped where the far half begins
    sent = sum(r.body_bytes for r in server.gets() if r.start >= slow)
    assert len(data) - slow <= sent <= len(data) - slow + 64 * KiB
    assert Notice.RETRIED not in result.notices


async def test_ranges_at_the_same_pace_are_not_cut(
    server: TransferTestServer, tmp_path: Path, data: bytes
) -> None:
    """Every range ends about together (a per-connection limit): no range is worth cutting."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))
    result = await asyncio.wait_for(download(server.url(PATH), tmp_path / "o", **SPLIT), 30)
    assert (tmp_path / "o").read_bytes() == data
    assert result.attempts == 4


async def test_a_cut_range_stopped_midway_resumes_from_its_checkpoint(
    server: TransferTestServer, tmp_path: Path, data: bytes
) -> None:
    """Stopped after a cut: the checkpoint names the cut ranges, each resumed where it was."""
    slow = _slow_last_quarter(server, data, 64 * KiB)
    dest = tmp_path / "out.bin"
    cut = asyncio.Event()

    def hook(record: RequestRecord) -> None:
        if record.method == "GET" and len(server.gets()) == 5:
            cut.set()

    server.on_request = hook
    task = asyncio.create_task(download(server.url(PATH), dest, **SPLIT))
    await asyncio.wait_for(cut.wait(), 20)
    await asyncio.wait_for(server.wait_bytes_sent(PATH, slow + 64 * KiB), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not dest.exists()
    saved = Checkpoint(checkpoint_path(dest)).load()
    assert saved is not None
    assert saved["kind"] == SEGMENTS_KIND
    segments = load_segments(saved, len(data))
    assert segments is not None
    assert len(segments) >= 5
    assert [s.start for s in segments][:4] == [len(data) * i // 4 for i in range(4)]
    held = sum(s.present for s in segments)
    assert slow < held < len(data)
    server.set_faults(PATH)
    server.on_request = None
    before = len(server.gets())
    result = await asyncio.wait_for(download(server.url(PATH), dest, **SPLIT), 30)
    assert dest.read_bytes() == data
    assert Notice.RESUMED in result.notices
    assert result.resumed_from == held
    assert result.bytes_received == len(data) - held  # not one byte fetched twice
    resumed = sorted(int((r.range or "")[6:].split("-")[0]) for r in server.gets()[before:])
    assert resumed == [s.done for s in segments if not s.complete]
    assert not part_path(dest).exists()


async def test_sigkill_after_a_cut_then_resume_asks_each_cut_range_for_its_rest(
    server: TransferTestServer, tmp_path: Path, data: bytes
) -> None:
    """A real engine process, killed once its checkpoint names a cut range with bytes in it:
    the next run resumes every range, the cut ones included, from that checkpoint."""
    slow = _slow_last_quarter(server, data, 64 * KiB)
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
        str(32 * KiB),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    segments = None
    for _ in range(1000):  # polled, bounded: a real process
        saved = Checkpoint(checkpoint_path(dest)).load()
        if saved and saved.get("kind") == SEGMENTS_KIND:
            segments = load_segments(saved, len(data))
            if segments and len(segments) >= 5 and segments[4].present > 0:
                break
        await asyncio.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    await process.communicate()
    saved = Checkpoint(checkpoint_path(dest)).load()
    assert saved is not None
    segments = load_segments(saved, len(data))
    assert segments is not None
    assert len(segments) >= 5
    held = sum(s.present for s in segments)
    assert slow < held < len(data)
    server.set_faults(PATH)
    before = len(server.gets())
    result = await asyncio.wait_for(download(server.url(PATH), dest, **SPLIT), 30)
    assert dest.read_bytes() == data
    assert result.resumed_from == held
    assert result.bytes_received == len(data) - held
    resumed = sorted(int((r.range or "")[6:].split("-")[0]) for r in server.gets()[before:])
    assert resumed == [s.done for s in segments if not s.complete]
