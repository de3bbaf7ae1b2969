"""The I/O thread of an open part file: order, batches, the first failure."""

from __future__ import annotations

import asyncio
import errno
import os
import threading
from pathlib import Path

import pytest

from uidt.transfers.partio import PartIO


def test_batches_are_written_in_order_at_their_offsets(tmp_path: Path) -> None:
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    io = PartIO(batch_bytes=4)
    try:
        assert not io.add(b"ab")
        assert io.add(b"cd")  # full
        io.flush(fd, 4, None)
        io.add(b"e")
        io.flush(fd, 5, None)
        io.drain()
        io.check()
    finally:
        io.shutdown()
        os.close(fd)
    assert path.read_bytes() == b"abcde"


def test_the_first_failure_stops_the_rest_and_surfaces_on_the_next_call() -> None:
    io = PartIO()
    ran: list[str] = []

    def fail() -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    try:
        io.run(fail)
        io.run(ran.append, "after")  # skipped: nothing runs after a failure
        io.drain()
        with pytest.raises(OSError, match="No space"):
            io.check()
        assert ran == []
    finally:
        io.shutdown()


def test_a_wait_for_an_offset_takes_the_commits_up_to_the_first_that_names_it() -> None:
    io = PartIO()
    try:
        for offset in (10, 20, 30):
            io.commit(offset, lambda: None)
        assert len(io.commits_until(15)) == 2
        assert len(io.commits_until(30)) == 3
        io.drain()
        assert io.idle()
        assert io.commits_until(5) == []
    finally:
        io.shutdown()


async def test_a_cancelled_wait_for_the_queue_is_raised_and_the_queued_work_still_runs() -> None:
    """Stopping the task that awaits the queue stops the waiting only: the cancel reaches that
    task (a stopped download must not run on), and the work queued behind stays queued (a
    checkpoint the stopped download asked for is still saved)."""
    io = PartIO()
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []
    try:
        io.run(lambda: (started.set(), release.wait(30)))
        io.run(ran.append, "queued behind")
        waiting = asyncio.create_task(io.settled())
        assert await asyncio.to_thread(started.wait, 30)  # (the waiting task awaits meanwhile)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()
        io.drain()
        io.check()
        assert ran == ["queued behind"]
    finally:
        release.set()
        io.shutdown()
