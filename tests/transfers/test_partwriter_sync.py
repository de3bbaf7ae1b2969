"""A durable checkpoint's fdatasync runs beside the copy: recorded checkpoints never wait on it.

The part file's ``os.fdatasync`` is replaced by one that waits at a gate (a disk that takes its
time). While it waits, the copy and the recorded checkpoints must go on; and no saved checkpoint
may ever name as durable a byte that no finished ``fdatasync`` covered.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from uidt.testing.clock import FakeClock
from uidt.transfers import partwriter
from uidt.transfers.partfile import PartFile, part_path

URL = "http://127.0.0.1:1/f"
DEADLINE_S = 10.0


class GatedSync:
    """``os.fdatasync`` that waits at a gate (open unless closed), noting what each covered."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.synced = 0  # the file's length when the last finished fdatasync began
        self._real = os.fdatasync

    def fdatasync(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        self.entered.set()
        if not self.gate.wait(DEADLINE_S):
            raise AssertionError("the gate was never opened")
        self._real(fd)
        self.synced = max(self.synced, size)


def _watch_saves(part: PartFile, gated: GatedSync) -> list[dict[str, Any]]:
    """Every state saved, each checked against what the finished fdatasyncs cover."""
    saved: list[dict[str, Any]] = []
    original = part.checkpoint.save

    def save(state: dict[str, Any], *, sync: bool = True) -> None:
        assert state["durable_offset"] <= gated.synced, "a checkpoint names unsynced bytes"
        saved.append(dict(state))
        original(state, sync=sync)

    part.checkpoint.save = save  # type: ignore[method-assign]
    return saved


def test_recorded_checkpoints_go_on_while_a_durable_one_waits_for_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync = GatedSync()
    monkeypatch.setattr(os, "fdatasync", sync.fdatasync)
    dest = tmp_path / "f"
    part = PartFile(dest, URL, hashing=True, clock=FakeClock(), batch_bytes=1000)
    part.ledger.boot_id = "boot-a"
    part.open()
    saved = _watch_saves(part, sync)
    data = b"".join(bytes([n]) * 700 for n in range(30))
    try:
        part.write(data[:7000])
        sync.gate.clear()
        sync.entered.clear()
        part.start_commit(durable=True)  # its fdatasync now waits at the gate
        assert sync.entered.wait(DEADLINE_S)
        part.write(data[7000:])
        part.start_commit()  # recorded: must not queue behind the waiting fdatasync
        waiter = threading.Thread(target=part.wait_recorded, args=(len(data),), daemon=True)
        waiter.start()
        waiter.join(DEADLINE_S)
        assert not waiter.is_alive(), "a recorded checkpoint waited on a durable one's fsync"
        assert part.recorded == len(data)
        assert part.durable < 7000
        last = part.checkpoint.load()
        assert last is not None
        assert last["offset"] == len(data)
        assert last["sha256_prefix"] == hashlib.sha256(data).hexdigest()
    finally:
        sync.gate.set()
    part.commit()
    assert part.durable == len(data) == part.recorded
    last = part.checkpoint.load()
    assert last is not None
    assert (last["offset"], last["durable_offset"]) == (len(data), len(data))
    assert last["sha256_durable"] == hashlib.sha256(data).hexdigest()
    # The durable checkpoint that finished late never took the recorded offset back.
    offsets = [state["offset"] for state in saved]
    assert offsets == sorted(offsets)
    part.close(commit=False)
    assert part_path(dest).read_bytes() == data


def test_a_failed_fdatasync_on_its_thread_surfaces_on_the_next_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    part = PartFile(tmp_path / "f", URL, hashing=False, clock=FakeClock(), batch_bytes=10)
    part.ledger.boot_id = "boot-a"
    part.open()
    part.write(b"x" * 10)
    part.commit()

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", failing)
    part.write(b"x" * 20)
    with pytest.raises(OSError, match="Input/output error"):
        part.commit()
    assert part.durable == 10
    saved = part.checkpoint.load()
    assert saved is not None
    assert (saved["offset"], saved["durable_offset"]) == (30, 10)
    part.close(commit=False)


def test_no_durable_commit_is_due_while_the_last_one_waits_for_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gated = GatedSync()
    monkeypatch.setattr(os, "fdatasync", gated.fdatasync)
    clock = FakeClock()
    part = PartFile(tmp_path / "f", URL, hashing=False, clock=clock, batch_bytes=10)
    part.ledger.boot_id = "boot-a"
    part.open()
    try:
        part.write(b"x" * 20)
        gated.gate.clear()
        gated.entered.clear()
        part.start_commit(durable=True)
        assert gated.entered.wait(DEADLINE_S)
        clock.advance(10_000)
        assert not part.sync_due(every_ms=5000)  # coalesced: the next sync covers it all
    finally:
        gated.gate.set()
    part.commit()
    assert part.sync_due(every_ms=0)
    part.close(commit=False)


def test_a_slow_writeback_start_holds_no_recorded_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sync_file_range`` (starting the writeback of each 8 MiB the splice copy wrote) blocks
    while the disk's queue is full; the recorded checkpoints, which the copy waits for, must not
    queue behind it."""
    gate, entered = threading.Event(), threading.Event()

    def slow_writeback(fd: int, offset: int, length: int) -> None:
        entered.set()
        if not gate.wait(DEADLINE_S):
            raise AssertionError("the gate was never opened")

    monkeypatch.setattr(partwriter, "start_writeback", slow_writeback)
    dest = tmp_path / "f"
    part = PartFile(dest, URL, hashing=False, clock=FakeClock(), batch_bytes=1000)
    part.ledger.boot_id = "boot-a"
    part.open()
    try:
        os.write(part.fileno(), b"x" * 1500)
        part.appended(1500)  # a whole batch: its writeback starts (and hangs)
        assert entered.wait(DEADLINE_S)
        part.start_commit()
        waiter = threading.Thread(target=part.wait_recorded, args=(1500,), daemon=True)
        waiter.start()
        waiter.join(DEADLINE_S)
        assert not waiter.is_alive(), "a recorded checkpoint waited on a writeback's start"
        assert part.recorded == 1500
    finally:
        gate.set()
    part.commit()
    assert part.durable == 1500
    part.close(commit=False)
