"""Segmented download (issue 15 item 6): several connections, one file, never two versions.

A real loopback server (per-connection rate limits with ``Faults(drip_bps=...)``), real part
files; ranges are 64 KiB at least here (``min_split_size``) so a 1 MiB file takes 4.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from uidt.errors import IntegrityError
from uidt.testing.httpserver import Faults, RecordingSleep, RequestRecord, TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import checkpoint_path, part_path, separate_descriptors
from uidt.transfers.progress import Progress
from uidt.transfers.throttle import Throttle
from uidt.transfers.tokenbucket import burst_for

KiB = 1024
MiB = 1024 * KiB
PATH = "/seg/file.bin"
SPLIT = {"split": 4, "min_split_size": 64 * KiB}


@pytest.fixture
def data() -> bytes:
    return os.urandom(1 * MiB + 4321)


async def test_four_ranges_from_a_per_connection_limited_server_arrive_byte_exact(
    server: TransferTestServer,
    tmp_path: Path,
    data: bytes,
    reader_options: dict[str, Any],
    no_wait: RecordingSleep,
) -> None:
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=2 * MiB))
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(server.url(PATH), dest, sleep=no_wait, **SPLIT, **reader_options), 30
    )
    assert dest.read_bytes() == data
    assert result.size == len(data)
    # every range stopped at its end (aiohttp may have read one chunk past the first one's)
    assert len(data) <= result.bytes_received <= len(data) + 128 * KiB
    bounds = [len(data) * i // 4 for i in range(4)]
    assert server.range_starts() == bounds
    assert server.gets()[0].range == "bytes=0-"
    assert all(r.if_range == server.etag(PATH) for r in server.gets()[1:])
    assert result.attempts == 4
    assert not part_path(dest).exists()
    assert not checkpoint_path(dest).exists()


async def test_the_ranges_run_at_the_same_time(
    server: TransferTestServer, tmp_path: Path, data: bytes
) -> None:
    """All four requests are open before the first range is done (not one after another)."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))
    fourth = asyncio.Event()

    def hook(_record: RequestRecord) -> None:
        if len(server.gets()) == 4:
            fourth.set()

    server.on_request = hook
    task = asyncio.create_task(download(server.url(PATH), tmp_path / "out.bin", **SPLIT))
    await asyncio.wait_for(fourth.wait(), 10)
    assert not any(r.finished.is_set() for r in server.gets())
    await asyncio.wait_for(task, 30)
    assert (tmp_path / "out.bin").read_bytes() == data


async def test_split_1_asks_exactly_as_before(
    server: TransferTestServer, tmp_path: Path, data: bytes
) -> None:
    server.add_file(PATH, data)
    result = await download(server.url(PATH), tmp_path / "out.bin", split=1)
    assert (tmp_path / "out.bin").read_bytes() == data
    assert [(r.range, r.if_range) for r in server.gets()] == [(None, None)]
    assert result.attempts == 1


async def test_a_server_without_ranges_gets_one_connection(
    server: TransferTestServer, tmp_path: Path, data: bytes
) -> None:
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(no_ranges=True))
    result = await download(server.url(PATH), tmp_path / "out.bin", **SPLIT)
    assert (tmp_path / "out.bin").read_bytes() == data
    assert len(server.gets()) == 1
    assert result.bytes_received == len(data)


@pytest.mark.parametrize("faults", [Faults(no_etag=True, no_last_modified=True)])
async def test_a_server_without_validators_gets_one_connection(
    server: TransferTestServer, tmp_path: Path, data: bytes, faults: Faults
) -> None:
    """Without an ETag or Last-Modified nothing would hold the ranges to one version."""
    server.add_file(PATH, data)
    server.set_faults(PATH, faults)
    await download(server.url(PATH), tmp_path / "out.bin", **SPLIT)
    assert (tmp_path / "out.bin").read_bytes() == data
    assert len(server.gets()) == 1


async def test_a_file_under_two_ranges_gets_one_connection(
    server: TransferTestServer, tmp_path: Path
) -> None:
    small = os.urandom(100 * KiB)
    server.add_file(PATH, small)
    await download(server.url(PATH), tmp_path / "out.bin", **SPLIT)
    assert (tmp_path / "out.bin").read_bytes() == small
    assert len(server.gets()) == 1


def _change_on_first_range(server: TransferTestServer, new: bytes) -> None:
    """Replace the file when the first request for a later range arrives."""
    changed = []

    def hook(record: RequestRecord) -> None:
        if record.method == "GET" and record.range not in (None, "bytes=0-") and not changed:
            changed.append(record)
            server.change_file(PATH, new)

    server.on_request = hook


@pytest.mark.parametrize("ignore_if_range", [False, True], ids=["200", "206-other-etag"])
async def test_a_range_of_another_version_never_mixes_and_restarts(
    server: TransferTestServer,
    tmp_path: Path,
    data: bytes,
    no_wait: RecordingSleep,
    ignore_if_range: bool,
) -> None:
    """The file changes while the ranges are asked for: the server answers a range with the
    new version (a 200 to If-Range, or a 206 with the new ETag from a server that ignores
    If-Range). The segmented attempt stops; the whole new file comes over one connection."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB, ignore_if_range=ignore_if_range))
    new = os.urandom(len(data))
    _change_on_first_range(server, new)
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(download(server.url(PATH), dest, sleep=no_wait, **SPLIT), 30)
    assert dest.read_bytes() == new
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices
    last = server.gets()[-1]
    assert last.range is None  # one connection, from zero


async def test_a_range_answered_200_falls_back_to_one_connection(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """The server stops honouring ranges after the first answer (same version)."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))

    def hook(record: RequestRecord) -> None:
        if record.method == "GET" and record.range not in (None, "bytes=0-"):
            server.set_faults(PATH, Faults(no_ranges=True))

    server.on_request = hook
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(download(server.url(PATH), dest, sleep=no_wait, **SPLIT), 30)
    assert dest.read_bytes() == data
    assert Notice.RESTARTED_NO_RANGES in result.notices


async def test_the_sha256_is_checked_over_the_whole_file(
    server: TransferTestServer, tmp_path: Path, data: bytes
) -> None:
    server.add_file(PATH, data)
    digest = hashlib.sha256(data).hexdigest()
    result = await download(server.url(PATH), tmp_path / "ok.bin", sha256=digest, **SPLIT)
    assert result.sha256 == digest
    with pytest.raises(IntegrityError):
        await download(server.url(PATH), tmp_path / "bad.bin", sha256="0" * 64, **SPLIT)
    assert not (tmp_path / "bad.bin").exists()
    assert not part_path(tmp_path / "bad.bin").exists()


async def test_the_rate_limit_holds_the_sum_of_the_ranges(
    server: TransferTestServer, tmp_path: Path, reader_options: dict[str, Any]
) -> None:
    """512 KiB at 1 MiB/s over 4 connections: at least the pauses of one limit (not 4)."""
    small = os.urandom(512 * KiB)
    server.add_file(PATH, small)
    rate = 1 * MiB
    throttle = Throttle(rate)
    started = time.monotonic()
    await asyncio.wait_for(
        download(
            server.url(PATH),
            tmp_path / "out.bin",
            throttle=throttle,
            split=4,
            min_split_size=64 * KiB,
            **reader_options,
        ),
        30,
    )
    seconds = time.monotonic() - started
    assert (tmp_path / "out.bin").read_bytes() == small
    assert throttle.taken == len(small)
    assert seconds >= (len(small) - burst_for(rate)) / rate * 0.95


async def test_progress_counts_the_sum_of_the_ranges(
    server: TransferTestServer, tmp_path: Path, data: bytes
) -> None:
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=2 * MiB))
    reports: list[Progress] = []
    await asyncio.wait_for(
        download(server.url(PATH), tmp_path / "out.bin", on_progress=reports.append, **SPLIT),
        30,
    )
    done = [report.done for report in reports]
    assert done == sorted(done)
    assert done[-1] == len(data)
    assert all(report.total == len(data) for report in reports)
    assert any(0 < d < len(data) for d in done)


async def test_a_range_answered_with_the_wrong_content_range_falls_back(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """A range answered with other bytes (its Content-Range says so) is never written at the
    asked offset: the segmented attempt ends, one connection fetches the file from zero."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))

    def hook(record: RequestRecord) -> None:
        if record.method == "GET" and record.range not in (None, "bytes=0-"):
            server.set_faults(PATH, Faults(range_from_zero=True))

    server.on_request = hook
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(download(server.url(PATH), dest, sleep=no_wait, **SPLIT), 30)
    assert dest.read_bytes() == data
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices
    assert server.gets()[-1].range is None


async def test_without_proc_self_fd_one_connection_takes_the_file(
    server: TransferTestServer, tmp_path: Path, data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ranges need a second descriptor of the part file (``/proc/self/fd``, Linux): where
    there is none, the download falls back to one connection instead of failing."""
    monkeypatch.setattr("uidt.transfers.downloadrun.separate_descriptors", lambda: False)
    server.add_file(PATH, data)
    result = await download(server.url(PATH), tmp_path / "out.bin", **SPLIT)
    assert (tmp_path / "out.bin").read_bytes() == data
    assert [r.range for r in server.gets()] == [None]
    assert result.connections == 1


def test_linux_has_separate_descriptors() -> None:
    assert separate_descriptors() is (sys.platform == "linux")
