"""PartFile: the durable partial file and its checkpoint, without HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from uidt.errors import IntegrityError
from uidt.testing.clock import FakeClock
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import PartFile, checkpoint_path, part_path

URL = "http://127.0.0.1:1/f"


def _part(dest: Path, *, hashing: bool = True) -> PartFile:
    return PartFile(dest, URL, hashing=hashing, clock=FakeClock())


async def test_commit_then_resume_after_a_reboot_truncates_untrusted_tail(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    first = _part(dest)
    first.etag = '"v1"'
    first.open()
    first.write(b"a" * 100)
    first.commit()
    first.write(b"b" * 50)  # written but never committed: a crash may have lost it
    first.close(commit=False)
    assert part_path(dest).stat().st_size == 150

    second = _part(dest)
    second.ledger.boot_id = "a boot after a crash"
    assert await second.resume() is Notice.RESUMED
    assert (second.written, second.etag) == (100, '"v1"')
    second.open()
    assert part_path(dest).stat().st_size == 100
    second.write(b"c" * 10)
    assert await second.publish(hashlib.sha256(b"a" * 100 + b"c" * 10).hexdigest())
    assert dest.read_bytes() == b"a" * 100 + b"c" * 10
    assert not checkpoint_path(dest).exists()


async def test_part_shorter_than_checkpoint_is_bad(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    first = _part(dest, hashing=False)
    first.open()
    first.write(b"x" * 10)
    first.close(commit=True)
    part_path(dest).write_bytes(b"x" * 5)
    assert await _part(dest).resume() is Notice.RESTARTED_BAD_CHECKPOINT


async def test_checkpoint_for_another_url_is_ignored(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    first = PartFile(dest, "http://127.0.0.1:1/other", hashing=False, clock=FakeClock())
    first.open()
    first.write(b"x")
    first.close(commit=True)
    fresh = _part(dest)
    assert await fresh.resume() is None
    assert fresh.written == 0


async def test_publish_with_wrong_digest_deletes_everything(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    part = _part(dest, hashing=False)
    part.open()
    part.write(b"data")
    with pytest.raises(IntegrityError, match="expected"):
        await part.publish("0" * 64)
    assert not part_path(dest).exists()
    assert not checkpoint_path(dest).exists()
    assert not dest.exists()


def test_commit_due_by_bytes_or_time(tmp_path: Path) -> None:
    clock = FakeClock()
    part = PartFile(tmp_path / "f", URL, hashing=False, clock=clock)
    part.open()
    part.write(b"x" * 10)
    assert not part.commit_due(every_bytes=100, every_ms=1000)
    assert part.commit_due(every_bytes=10, every_ms=1000)
    clock.advance(1000)
    assert part.commit_due(every_bytes=100, every_ms=1000)
    part.close(commit=True)


async def test_background_commits_keep_the_checkpoint_behind_the_disk(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    part = PartFile(dest, URL, hashing=True, clock=FakeClock(), batch_bytes=1000)
    part.open()
    for block in range(20):
        part.write(bytes([block]) * 700)  # a batch goes to the I/O thread every two chunks
        part.start_commit()
    part.wait_recorded(part.written)
    assert part.recorded == part.written == 20 * 700
    saved = part.checkpoint.load()
    assert saved is not None
    assert saved["offset"] == 20 * 700 == part_path(dest).stat().st_size
    expected = b"".join(bytes([block]) * 700 for block in range(20))
    assert saved["sha256_prefix"] == hashlib.sha256(expected).hexdigest()
    part.close(commit=False)
    assert part_path(dest).read_bytes() == expected


async def test_a_failed_write_surfaces_on_the_next_call(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    part = PartFile(dest, URL, hashing=False, clock=FakeClock(), batch_bytes=1)
    part.open()
    assert part._fd is not None
    os.close(part._fd)  # the I/O thread's writev now fails with EBADF
    part.write(b"x")
    with pytest.raises(OSError, match="Bad file descriptor"):
        part.commit()
    with pytest.raises(OSError, match="Bad file descriptor"):
        part.write(b"y")
    part._fd = os.open(os.devnull, os.O_WRONLY)
    part.close(commit=False)


async def test_direct_appends_checkpoint_the_digest_of_exactly_their_prefix(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    data = os.urandom(3 * 1024 * 1024)
    part = _part(dest)
    part.open()
    saved: list[dict[str, object]] = []
    original = part.checkpoint.save
    part.checkpoint.save = lambda state, sync=True: (  # type: ignore[method-assign]
        saved.append(dict(state)),
        original(state, sync=sync),
    )[1]
    for start in range(0, len(data), 700_000):  # as a splice thread would: bytes go to the fd
        chunk = data[start : start + 700_000]
        os.write(part.fileno(), chunk)
        part.appended(len(chunk))
        part.start_commit()
    expected = hashlib.sha256(data).hexdigest()
    assert await part.publish(expected) == expected
    assert [s["offset"] for s in saved][-1] == len(data)
    for state in saved:
        offset = state["offset"]
        assert isinstance(offset, int)
        assert state["sha256_prefix"] == hashlib.sha256(data[:offset]).hexdigest()
    assert dest.read_bytes() == data


def _write_recorded_after_durable(dest: Path) -> None:
    """100 durable bytes, then 50 more that only a recorded checkpoint names."""
    first = _part(dest)
    first.ledger.boot_id = "boot-a"
    first.open()
    first.write(b"a" * 100)
    first.commit()
    first.write(b"b" * 50)
    first.start_commit()  # recorded: no fdatasync
    first.wait_recorded(150)
    assert (first.recorded, first.durable) == (150, 100)
    first.close(commit=False)
    saved = first.checkpoint.load()
    assert saved is not None
    assert (saved["offset"], saved["durable_offset"], saved["boot_id"]) == (150, 100, "boot-a")


async def test_a_recorded_checkpoint_is_trusted_in_the_boot_that_wrote_it(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    _write_recorded_after_durable(dest)
    second = _part(dest)
    second.ledger.boot_id = "boot-a"  # the writer was killed; the machine kept running
    assert await second.resume() is Notice.RESUMED
    assert second.written == 150
    second.open()
    assert await second.publish(hashlib.sha256(b"a" * 100 + b"b" * 50).hexdigest())


async def test_after_a_reboot_only_the_durable_prefix_is_trusted(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    _write_recorded_after_durable(dest)
    second = _part(dest)
    second.ledger.boot_id = "boot-b"  # the machine restarted: unsynced bytes may be lost
    assert await second.resume() is Notice.RESUMED
    assert second.written == 100
    second.open()
    assert part_path(dest).stat().st_size == 100
    second.write(b"c")
    assert await second.publish(hashlib.sha256(b"a" * 100 + b"c").hexdigest())


async def test_without_a_boot_id_every_checkpoint_is_durable(tmp_path: Path) -> None:
    part = _part(tmp_path / "f")
    part.ledger.boot_id = None
    part.open()
    part.write(b"x" * 10)
    part.start_commit()
    part.wait_recorded(10)
    assert (part.recorded, part.durable) == (10, 10)
    part.close(commit=False)


async def test_a_version_1_checkpoint_still_resumes(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    part_path(dest).write_bytes(b"z" * 40)
    version_1 = {"version": 1, "kind": "download", "url": URL, "offset": 30, "total": 40}
    checkpoint_path(dest).write_text(json.dumps(version_1))
    part = _part(dest, hashing=False)
    assert await part.resume() is Notice.RESUMED
    assert (part.written, part.total) == (30, 40)


@pytest.mark.parametrize("field", ["etag", "last_modified"])
async def test_a_checkpoint_with_a_validator_that_is_not_text_is_bad(
    tmp_path: Path, field: str
) -> None:
    # Hand-edited or corrupt: sent as If-Range it would crash the run; start again instead.
    dest = tmp_path / "f"
    part_path(dest).write_bytes(b"z" * 40)
    state = {"version": 1, "kind": "download", "url": URL, "offset": 30, field: 5}
    checkpoint_path(dest).write_text(json.dumps(state))
    part = _part(dest, hashing=False)
    assert await part.resume() is Notice.RESTARTED_BAD_CHECKPOINT
    assert (part.written, part.etag, part.last_modified) == (0, None, None)


async def test_a_cancel_during_the_brake_stops_the_writer_and_the_checkpoint_still_lands(
    tmp_path: Path,
) -> None:
    """A download stopped while it waits for a checkpoint (the back-pressure) is stopped: the
    cancel is not swallowed by the wait, and the checkpoint it waited for is saved all the same.
    """
    part = _part(tmp_path / "f", hashing=False)
    saving, release = threading.Event(), threading.Event()
    original = part.checkpoint.save

    def slow_save(state: dict[str, Any], *, sync: bool = True) -> None:
        if state.get("offset") == 100:  # not open()'s save, of nothing
            saving.set()
            release.wait(30)
        original(state, sync=sync)

    part.checkpoint.save = slow_save  # type: ignore[method-assign]
    part.open()
    part.write(b"x" * 100)
    try:
        part.start_commit()
        braking = asyncio.create_task(part.recorded_at(100))
        assert await asyncio.to_thread(saving.wait, 30)
        braking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await braking
    finally:
        release.set()
    await part.aclose(commit=False)
    saved = part.checkpoint.load()
    assert saved is not None
    assert saved["offset"] == 100
