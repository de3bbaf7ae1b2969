"""parttail: when the bytes past a recorded checkpoint may be kept (the file-level rules)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.transfers.parttail import file_identity, has_hole, trusted_end

BLOCK = 64 * 1024  # past any filesystem block size, so a hole is a hole everywhere


@pytest.fixture
def fd(tmp_path: Path) -> Iterator[int]:
    descriptor = os.open(tmp_path / "f.part", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        yield descriptor
    finally:
        os.close(descriptor)


def test_a_tail_written_in_order_is_kept(fd: int) -> None:
    os.write(fd, os.urandom(3 * BLOCK + 5))  # still in the page cache: data, not a hole
    assert trusted_end(fd, recorded=BLOCK, total=None) == 3 * BLOCK + 5
    assert trusted_end(fd, recorded=BLOCK, total=3 * BLOCK + 5) == 3 * BLOCK + 5


def test_nothing_past_the_recorded_offset_keeps_the_offset(fd: int) -> None:
    os.write(fd, b"x" * 10)
    assert trusted_end(fd, recorded=10, total=None) == 10
    assert trusted_end(fd, recorded=20, total=None) == 20  # shorter: the caller refuses it


def test_a_file_longer_than_the_announced_total_keeps_no_tail(fd: int) -> None:
    os.write(fd, b"x" * 150)
    assert trusted_end(fd, recorded=100, total=140) == 100


def test_a_file_grown_with_ftruncate_keeps_no_tail(fd: int) -> None:
    os.write(fd, os.urandom(2 * BLOCK))
    os.ftruncate(fd, 6 * BLOCK)  # zeros nobody received: a hole
    assert has_hole(fd, BLOCK, 6 * BLOCK)
    assert trusted_end(fd, recorded=BLOCK, total=None) == BLOCK


def test_a_hole_with_data_after_it_keeps_no_tail(fd: int) -> None:
    os.write(fd, os.urandom(2 * BLOCK))
    os.pwrite(fd, os.urandom(BLOCK), 6 * BLOCK)  # skips 4 blocks: a writer never does
    assert trusted_end(fd, recorded=BLOCK, total=None) == BLOCK


def test_a_hole_before_the_recorded_offset_is_not_the_tails_business(fd: int) -> None:
    os.pwrite(fd, os.urandom(BLOCK), 4 * BLOCK)
    assert not has_hole(fd, 4 * BLOCK, 5 * BLOCK)
    assert trusted_end(fd, recorded=4 * BLOCK + 10, total=None) == 5 * BLOCK


def test_where_holes_cannot_be_looked_for_the_tail_is_refused(
    fd: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.write(fd, b"x" * 150)

    def refuse(_fd: int, _pos: int, _how: int) -> int:
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(os, "lseek", refuse)
    assert trusted_end(fd, recorded=100, total=None) == 100


def test_the_identity_names_device_and_inode(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"1")
    b.write_bytes(b"1")
    assert file_identity(a.stat()) == file_identity(os.stat(a))
    assert file_identity(a.stat()) != file_identity(b.stat())
    assert file_identity(a.stat()) == f"{a.stat().st_dev}:{a.stat().st_ino}"
