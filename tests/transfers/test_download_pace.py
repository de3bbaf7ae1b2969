"""download() over time: the lowest-speed rule and the checkpoints taken on time.

Like ``test_download.py``, every test runs on each reader (splice, ``aiohttp``, TLS).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from uidt.errors import TransferError
from uidt.testing.clock import FakeClock
from uidt.testing.httpserver import Faults, RecordingSleep, TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.ledger import DURABLE_BYTES
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import PartFile
from uidt.transfers.partio import PartIO

KiB = 1024
PATH = "/pace/file.bin"


@pytest.fixture(autouse=True)
def engine(reader: str, reader_options: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the given body reader (``download`` here is patched to use it)."""
    real = sys.modules["uidt.transfers.download"].download
    monkeypatch.setattr(
        sys.modules[__name__], "download", functools.partial(real, **reader_options)
    )
    return reader


# -- issue 14 item 12: the lowest-speed rule -----------------------------------------------
async def test_a_dripping_server_is_given_up_on(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    """One byte every 20 ms (50 B/s) against a floor of 1 KiB/s over 0.3 s: too slow."""
    server.add_file(PATH, os.urandom(64 * KiB))
    server.set_faults(PATH, Faults(drip_bps=50, drip_chunk=1))
    dest = tmp_path / "out.bin"
    with pytest.raises(TransferError, match=r"below 1\.0 KiB/s for 0\.3 s, 2 times"):
        await asyncio.wait_for(
            download(
                server.url(PATH),
                dest,
                sleep=no_wait,
                retries=1,
                lowest_speed=KiB,
                lowest_speed_seconds=0.3,
            ),
            20,
        )
    assert not dest.exists()
    assert len(no_wait.delays) == 1  # one retry, then the clear error


async def test_a_slow_attempt_is_retried_and_the_download_finishes(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    data = os.urandom(64 * KiB)
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=50, drip_chunk=1))

    def on_notice(notice: Notice) -> None:
        if notice is Notice.RETRIED:
            server.set_faults(PATH)  # the next attempt finds a fast server

    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(
            server.url(PATH),
            dest,
            sleep=no_wait,
            on_notice=on_notice,
            lowest_speed=KiB,
            lowest_speed_seconds=0.3,
        ),
        20,
    )
    assert dest.read_bytes() == data
    assert len(no_wait.delays) == 1
    assert result.resumed_from == 0
    assert server.gets()[1].range is not None  # the slow bytes were kept: it resumed


@pytest.mark.parametrize(("speed", "seconds"), [(-1, 60.0), (KiB, 0.0), (KiB, -5.0)])
async def test_bad_lowest_speed_settings_are_refused(
    server: TransferTestServer, tmp_path: Path, speed: int, seconds: float
) -> None:
    server.add_file(PATH, b"x")
    with pytest.raises(ValueError, match="lowest_speed"):
        await download(
            server.url(PATH), tmp_path / "o", lowest_speed=speed, lowest_speed_seconds=seconds
        )
    assert not (tmp_path / "o").exists()
    assert server.requests == []


async def test_lowest_speed_zero_turns_the_rule_off(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    data = os.urandom(2 * KiB)
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=10 * KiB, drip_chunk=512))
    await download(
        server.url(PATH), tmp_path / "o", sleep=no_wait, lowest_speed=0, lowest_speed_seconds=0.01
    )
    assert (tmp_path / "o").read_bytes() == data
    assert no_wait.delays == []


# -- issue 19 item 11: checkpoints recorded on time ----------------------------------------
class _StepClock:
    """Each reading is ``step_ms`` after the previous one; :meth:`peek` reads without moving."""

    def __init__(self, step_ms: int) -> None:
        self._clock = FakeClock()
        self._step = step_ms

    def elapsed(self) -> int:
        self._clock.advance(self._step)
        return self._clock.elapsed()

    def peek(self) -> int:
        return self._clock.elapsed()

    def utc(self) -> datetime:
        return self._clock.utc()


async def test_checkpoints_are_recorded_every_second_durable_every_five(
    server: TransferTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the defaults, a kill loses at most about one second of transfer at any rate."""
    clock = _StepClock(100)
    commits: list[tuple[int, bool]] = []
    original = PartFile.start_commit

    def timed_commit(self: PartFile, *, durable: bool = False) -> None:
        commits.append((clock.peek(), durable))
        original(self, durable=durable)

    monkeypatch.setattr(PartFile, "start_commit", timed_commit)
    server.add_file(PATH, os.urandom(3 * 1024 * KiB))
    # small pieces, so that every reader sees many of them (each reading is 100 ms later)
    server.set_faults(PATH, Faults(drip_bps=16 * 1024 * KiB, drip_chunk=16 * KiB))
    await download(server.url(PATH), tmp_path / "o", clock=clock)
    times = [when for when, _ in commits]
    assert times[-1] - times[0] > 6000  # the run lasted several (fake) seconds
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) < 2000  # a checkpoint about every second, not every five
    durable = [when for when, sync in commits if sync]
    assert len(durable) < len(commits) / 2  # most are cheap (no fsync)
    assert all(b - a >= 5000 for a, b in itertools.pairwise(durable[1:-1]))


# -- issue 20 item 2: a durable checkpoint every few MiB, at most 4 a second ----------------
async def test_a_durable_checkpoint_comes_every_2_mib_when_a_quarter_second_passed(
    server: TransferTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The time rules are off here: only the bytes rule starts commits, each one durable.

    The disk's pace is not what this test is about (a durable commit is skipped while the
    last one still syncs: ``test_a_slow_fdatasync_never_holds_the_reader_back``), so every
    sync reads as done, however long a busy machine's fdatasync takes.
    """
    monkeypatch.setattr(PartIO, "syncing", lambda self: False)
    clock = _StepClock(100)
    commits: list[tuple[int, bool]] = []
    original = PartFile.start_commit

    def counted_commit(self: PartFile, *, durable: bool = False) -> None:
        commits.append((self.written, durable))
        original(self, durable=durable)

    monkeypatch.setattr(PartFile, "start_commit", counted_commit)
    server.add_file(PATH, os.urandom(7 * 1024 * KiB))
    server.set_faults(PATH, Faults(drip_bps=64 * 1024 * KiB, drip_chunk=64 * KiB))
    await download(
        server.url(PATH),
        tmp_path / "o",
        clock=clock,
        checkpoint_bytes=1 << 40,
        record_seconds=1e6,
        checkpoint_seconds=1e6,
    )
    midway = commits[1:-1]  # between open()'s commit and publish()'s
    assert len(midway) == 3
    assert all(durable for _, durable in midway)
    offsets = [0] + [offset for offset, _ in midway]
    assert all(b - a >= DURABLE_BYTES for a, b in itertools.pairwise(offsets))
    assert all(b - a < DURABLE_BYTES + 1024 * KiB for a, b in itertools.pairwise(offsets))


async def test_a_slow_fdatasync_never_holds_the_reader_back(
    server: TransferTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A durable commit's fdatasync runs on a sync thread of its own: while it hangs, the body
    is still read and recorded checkpoints still follow it (the brake, a whole interval not
    recorded, does not hold the reader on a busy disk's account).
    """
    interval = 1024 * KiB
    blocked, release, ran_on = threading.Event(), threading.Event(), threading.Event()
    real_fdatasync = os.fdatasync
    calls = 0

    def slow_fdatasync(fd: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:  # the first durable commit by bytes (the first is open()'s)
            blocked.set()
            release.wait(30)
        real_fdatasync(fd)

    monkeypatch.setattr(os, "fdatasync", slow_fdatasync)
    durable_at: list[int] = []
    brakes: list[tuple[int, int]] = []  # (written, recorded) each time the brake holds
    original_commit, original_wait = PartFile.start_commit, PartFile.wait_recorded
    original_await = PartFile.recorded_at

    def watched_commit(self: PartFile, *, durable: bool = False) -> None:
        if durable:
            durable_at.append(self.written)
        if blocked.is_set() and self.recorded >= durable_at[1] + 4 * interval:
            ran_on.set()  # four intervals recorded past the commit whose fsync hangs
        original_commit(self, durable=durable)

    def held(self: PartFile) -> None:
        brakes.append((self.written, self.recorded))

    def watched_wait(self: PartFile, offset: int) -> None:  # the splice reader's brake
        held(self)
        original_wait(self, offset)

    async def watched_await(self: PartFile, offset: int) -> None:  # the aiohttp reader's brake
        held(self)
        await original_await(self, offset)

    monkeypatch.setattr(PartFile, "start_commit", watched_commit)
    monkeypatch.setattr(PartFile, "wait_recorded", watched_wait)
    monkeypatch.setattr(PartFile, "recorded_at", watched_await)
    server.add_file(PATH, os.urandom(16 * 1024 * KiB))
    server.set_faults(PATH, Faults(drip_bps=256 * 1024 * KiB, drip_chunk=64 * KiB))  # small reads
    task = asyncio.create_task(
        download(server.url(PATH), tmp_path / "o", clock=_StepClock(100), checkpoint_bytes=interval)
    )
    try:
        assert await asyncio.to_thread(blocked.wait, 30)
        assert await asyncio.to_thread(ran_on.wait, 30)
        assert not release.is_set()  # all of it while the fdatasync still hangs
    finally:
        release.set()
    result = await asyncio.wait_for(task, 30)
    assert result.size == 16 * 1024 * KiB
    slack = interval  # one read between two checks of the brake (aiohttp hands over a lot)
    assert all(written - recorded <= interval + slack for written, recorded in brakes)
