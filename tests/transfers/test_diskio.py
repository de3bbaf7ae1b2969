"""``uidt.transfers.diskio``: hashing a file's prefix and starting a range's writeback."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from uidt.transfers.diskio import hash_prefix, start_writeback


def test_hash_prefix_hashes_exactly_the_prefix(tmp_path: Path) -> None:
    path = tmp_path / "f"
    data = os.urandom(5 * 1024 * 1024 + 7)  # more than one read block
    path.write_bytes(data)
    assert hash_prefix(path, 4_200_000).hexdigest() == hashlib.sha256(data[:4_200_000]).hexdigest()


def test_hash_prefix_stops_at_the_end_of_a_shorter_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert hash_prefix(path, 10).hexdigest() == hashlib.sha256(b"abc").hexdigest()


def test_start_writeback_leaves_the_bytes_as_written(tmp_path: Path) -> None:
    assert start_writeback is not None  # Linux
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"x" * 8192)
        start_writeback(fd, 0, 8192)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"x" * 8192
