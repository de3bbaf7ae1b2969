"""No fsync of a download waits on the event loop (one app's worker loop hosts all its jobs).

The fsync and fdatasync of the process are replaced by a slow one: each call lasts until the event
loop has turned a few times (a ticker task counts the turns), or ``HOLD_S`` has passed. Run on a
thread while the loop goes on, a call ends after a few milliseconds; if the loop waits for it, the
loop cannot turn and the call runs out its hold, which the test counts as a stall.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from uidt.testing.httpserver import Faults, RecordingSleep, TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.notices import Notice

HOLD_S = 5.0
TURNS = 3
PATH = "/data/file.bin"


class SlowSync:
    """Stands in for ``os.fsync`` and ``os.fdatasync`` (see the module doc)."""

    def __init__(self) -> None:
        self.loop_thread = threading.get_ident()
        self.ticks = 0
        self.calls = 0
        self.on_loop = 0
        self.stalled = 0
        self._real_fsync = os.fsync
        self._real_fdatasync = os.fdatasync

    def _hold(self, real: Callable[[int], None], fd: int) -> None:
        self.calls += 1
        if threading.get_ident() == self.loop_thread:
            self.on_loop += 1
        start, deadline = self.ticks, time.monotonic() + HOLD_S
        while self.ticks < start + TURNS:
            if time.monotonic() > deadline:
                self.stalled += 1
                break
            time.sleep(0.001)  # noqa: TID251 - the slow disk itself, on the syncing thread
        real(fd)

    def fsync(self, fd: int) -> None:
        self._hold(self._real_fsync, fd)

    def fdatasync(self, fd: int) -> None:
        self._hold(self._real_fdatasync, fd)

    async def tick(self) -> None:
        while True:
            await asyncio.sleep(0.001)
            self.ticks += 1


@pytest.mark.parametrize("raw_http", [True, False], ids=["splice", "aiohttp"])
async def test_the_flushes_of_a_download_do_not_stall_the_loop(
    server: TransferTestServer,
    payload: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    raw_http: bool,
) -> None:
    server.add_file(PATH, payload)
    slow = SlowSync()
    monkeypatch.setattr(os, "fsync", slow.fsync)
    monkeypatch.setattr(os, "fdatasync", slow.fdatasync)
    ticker = asyncio.create_task(slow.tick())
    dest = tmp_path / "out.bin"
    try:
        result = await download(
            server.url(PATH),
            dest,
            sha256=hashlib.sha256(payload).hexdigest(),
            raw_http=raw_http,
            checkpoint_bytes=1024 * 1024,
        )
    finally:
        ticker.cancel()
    assert dest.read_bytes() == payload
    assert result.size == len(payload)
    assert slow.calls >= 3  # opening, a checkpoint or more, publishing
    assert (slow.on_loop, slow.stalled) == (0, 0), (
        f"{slow.on_loop} of {slow.calls} syncs ran on the loop's thread, "
        f"{slow.stalled} made the loop wait {HOLD_S:.0f} s"
    )


@pytest.mark.parametrize("raw_http", [True, False], ids=["splice", "aiohttp"])
async def test_a_retry_and_a_restart_from_zero_do_not_stall_the_loop(
    server: TransferTestServer,
    payload: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    raw_http: bool,
) -> None:
    """A reset connection (commit before the retry), then a changed file (start again)."""
    server.add_file(PATH, payload)
    server.set_faults(PATH, Faults(reset_after=1024 * 1024, times=1))
    changed = payload[::-1]

    def change_after_first(_record: object) -> None:
        if len(server.requests) == 2:
            server.change_file(PATH, changed)

    server.on_request = change_after_first
    slow = SlowSync()
    monkeypatch.setattr(os, "fsync", slow.fsync)
    monkeypatch.setattr(os, "fdatasync", slow.fdatasync)
    ticker = asyncio.create_task(slow.tick())
    dest = tmp_path / "out.bin"
    try:
        result = await download(
            server.url(PATH),
            dest,
            raw_http=raw_http,
            sleep=RecordingSleep(),
            checkpoint_bytes=128 * 1024,
        )
    finally:
        ticker.cancel()
    assert dest.read_bytes() == changed
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices
    assert (slow.on_loop, slow.stalled) == (0, 0), (
        f"{slow.on_loop} of {slow.calls} syncs ran on the loop's thread, "
        f"{slow.stalled} made the loop wait {HOLD_S:.0f} s"
    )
