"""PartFile.resume and the tail a killed writer leaves past its recorded checkpoint.

Each test leaves the files as a SIGKILL would (the last checkpoint behind the bytes written),
then lets something hostile happen while no writer runs, and checks what the next run keeps.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import pytest

from uidt.errors import IntegrityError
from uidt.testing.clock import FakeClock
from uidt.testing.httpserver import RecordingSleep, TransferTestServer
from uidt.transfers.checkpoint import boot_id
from uidt.transfers.download import download
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import PartFile, checkpoint_path, part_path

URL = "http://127.0.0.1:1/f"
BLOCK = 64 * 1024
HEAD = os.urandom(2 * BLOCK)  # named by the recorded checkpoint
TAIL = os.urandom(3 * BLOCK + 17)  # written after it, then the writer was killed

needs_boot_id = pytest.mark.skipif(boot_id() is None, reason="the system has no boot id")


def _part(dest: Path, *, hashing: bool = True) -> PartFile:
    return PartFile(dest, URL, hashing=hashing, clock=FakeClock())


def _killed_writer(dest: Path, *, total: int | None = None, etag: str = '"v1"') -> PartFile:
    """HEAD recorded, TAIL written and never checkpointed: what a SIGKILL leaves."""
    first = _part(dest)
    first.etag, first.total = etag, total
    first.open()
    first.write(HEAD)
    first.start_commit()  # recorded, not durable
    first.wait_recorded(len(HEAD))
    first.write(TAIL)
    first.close(commit=False)  # the writes reach the file, no checkpoint names them
    saved = first.checkpoint.load()
    assert saved is not None
    assert saved["offset"] == len(HEAD)
    assert part_path(dest).stat().st_size == len(HEAD + TAIL)
    return first


def _poke(path: Path, offset: int, data: bytes) -> None:
    """Overwrite bytes in place, as another process of the user could."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


@needs_boot_id
@pytest.mark.parametrize("hashing", [True, False], ids=["sha256", "no-sha256"])
async def test_the_tail_of_a_killed_writer_is_kept_in_the_same_boot(
    tmp_path: Path, hashing: bool
) -> None:
    dest = tmp_path / "f"
    _killed_writer(dest, total=len(HEAD + TAIL) + 3)
    second = _part(dest, hashing=hashing)
    assert await second.resume() is Notice.RESUMED
    assert second.written == len(HEAD + TAIL)
    second.open()
    second.write(b"end")
    expected = hashlib.sha256(HEAD + TAIL + b"end").hexdigest()
    # with hashing, the tail was hashed on from the stored prefix digest: the running digest
    # is the whole file's, with no second read at the end
    assert await second.publish(expected if hashing else None) == (expected if hashing else None)
    assert dest.read_bytes() == HEAD + TAIL + b"end"


@needs_boot_id
async def test_a_tail_whose_prefix_no_longer_matches_its_digest_restarts(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    _killed_writer(dest)
    _poke(part_path(dest), 0, bytes([HEAD[0] ^ 0xFF]))  # a byte of the checkpointed prefix
    second = _part(dest)
    assert await second.resume() is Notice.RESTARTED_BAD_CHECKPOINT
    assert second.written == 0


@needs_boot_id
async def test_a_tail_changed_by_another_process_of_the_user_is_never_published(
    tmp_path: Path,
) -> None:
    # Only the user's own processes can write a 0600 file; a changed tail byte is not
    # detectable at resume, so the final SHA-256 catches it and nothing is published.
    dest = tmp_path / "f"
    _killed_writer(dest)
    _poke(part_path(dest), len(HEAD) + 5, bytes([TAIL[5] ^ 0xFF]))
    second = _part(dest)
    assert await second.resume() is Notice.RESUMED
    assert second.written == len(HEAD + TAIL)
    second.open()
    with pytest.raises(IntegrityError):
        await second.publish(hashlib.sha256(HEAD + TAIL).hexdigest())
    assert not dest.exists()
    assert not part_path(dest).exists()


@needs_boot_id
async def test_a_part_file_grown_with_ftruncate_keeps_only_the_recorded_prefix(
    tmp_path: Path,
) -> None:
    dest = tmp_path / "f"
    _killed_writer(dest)
    os.truncate(part_path(dest), len(HEAD + TAIL) + 8 * BLOCK)  # a hole, not ours
    second = _part(dest)
    assert await second.resume() is Notice.RESUMED
    assert second.written == len(HEAD)
    second.open()
    assert part_path(dest).stat().st_size == len(HEAD)  # the tail is cut off and fetched again
    second.close(commit=False)


@needs_boot_id
async def test_a_part_file_longer_than_the_total_keeps_only_the_recorded_prefix(
    tmp_path: Path,
) -> None:
    dest = tmp_path / "f"
    _killed_writer(dest, total=len(HEAD + TAIL) - 1)  # the writer never passes the total
    second = _part(dest)
    assert await second.resume() is Notice.RESUMED
    assert second.written == len(HEAD)


@needs_boot_id
async def test_a_part_file_replaced_by_another_file_keeps_only_the_recorded_prefix(
    tmp_path: Path,
) -> None:
    # Same owner, mode and prefix, even the same tail, but not the file the checkpoint names.
    dest = tmp_path / "f"
    _killed_writer(dest)
    planted = tmp_path / "planted"
    planted.write_bytes(HEAD + TAIL)
    planted.chmod(0o600)
    os.replace(planted, part_path(dest))
    second = _part(dest)
    assert await second.resume() is Notice.RESUMED
    assert second.written == len(HEAD)


async def test_after_a_reboot_no_tail_is_kept(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    _killed_writer(dest)
    second = _part(dest)
    second.ledger.boot_id = "a boot after a crash"
    assert await second.resume() is None  # only the empty file open() synced was durable
    assert second.written == 0


async def test_without_a_boot_id_no_tail_is_kept(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    first = _part(dest)
    first.ledger.boot_id = None  # every checkpoint durable; a crash could not be told apart
    first.open()
    first.write(HEAD)
    first.start_commit()
    first.wait_recorded(len(HEAD))
    first.write(TAIL)
    first.close(commit=False)
    second = _part(dest)
    second.ledger.boot_id = None
    assert await second.resume() is Notice.RESUMED
    assert second.written == len(HEAD)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
async def test_a_part_file_given_to_another_user_is_removed_not_resumed(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    _killed_writer(dest)
    os.chown(part_path(dest), 65534, 65534)
    second = _part(dest)
    assert await second.resume() is Notice.RESTARTED_UNTRUSTED_FILES
    assert second.written == 0
    assert part_path(dest).stat().st_size == 0  # a fresh file of ours
    second.release()


async def test_a_group_writable_part_file_is_removed_not_resumed(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    _killed_writer(dest)
    part_path(dest).chmod(0o620)  # someone else could have grown it
    second = _part(dest)
    assert await second.resume() is Notice.RESTARTED_UNTRUSTED_FILES
    assert second.written == 0
    second.release()


@needs_boot_id
async def test_a_kill_between_a_new_versions_truncation_and_its_checkpoint_keeps_nothing(
    tmp_path: Path,
) -> None:
    """The file changed on the server: the part file is truncated, the new version's checkpoint
    queued before its first byte. A kill before that checkpoint is saved must neither keep old
    bytes under the new version nor new bytes under the old one.
    """
    dest = tmp_path / "f"
    first = _killed_writer(dest)
    first.reset()
    first.etag = '"v2"'  # the answer that named the new version
    saves = 0
    real_save = first.checkpoint.save

    def killed_before_saving(state: dict[str, object], *, sync: bool = True) -> None:
        nonlocal saves
        saves += 1
        raise OSError("killed")  # as if the process died here: nothing after it happens

    first.checkpoint.save = killed_before_saving  # type: ignore[method-assign]
    first.open()
    with contextlib.suppress(OSError):  # the failed save may already be noticed here
        first.write(b"new version " * 1000)
    first.close(commit=False)
    first.checkpoint.save = real_save  # type: ignore[method-assign]
    assert saves == 1
    assert part_path(dest).stat().st_size == 0  # truncated; no new byte before the checkpoint
    second = _part(dest)
    # the old checkpoint names more bytes than the file holds: start again from zero
    assert await second.resume() is Notice.RESTARTED_BAD_CHECKPOINT
    assert second.written == 0
    assert checkpoint_path(dest).exists()  # replaced by the next open(), as usual


@needs_boot_id
async def test_a_tail_that_completes_the_file_is_published_without_its_body_again(
    server: TransferTestServer, tmp_path: Path
) -> None:
    """Killed after its last byte but before the rename: the next run asks from the end,
    the server answers 416 for exactly that length, and the file is published as it is."""
    data = HEAD + TAIL
    etag = server.add_file("/whole.bin", data)
    dest = tmp_path / "f"
    first = PartFile(dest, server.url("/whole.bin"), hashing=False, clock=FakeClock())
    first.etag, first.total = etag, len(data)
    first.open()  # its checkpoint names 0 bytes; everything after it is the tail
    first.write(data)
    first.close(commit=False)
    digest = hashlib.sha256(data).hexdigest()
    result = await download(server.url("/whole.bin"), dest, sha256=digest, sleep=RecordingSleep())
    assert (result.resumed_from, result.bytes_received, result.sha256) == (len(data), 0, digest)
    assert [r.status for r in server.requests] == [416]
    assert dest.read_bytes() == data
