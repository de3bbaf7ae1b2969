"""Kernel-level helpers of the part file: start a range's writeback, hash a file's prefix."""

from __future__ import annotations

import ctypes
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

_HASH_BLOCK = 4 * 1024 * 1024
_SYNC_FILE_RANGE_WRITE = 2


def _load_sync_file_range() -> Callable[[int, int, int], None] | None:
    """``sync_file_range(fd, offset, n, SYNC_FILE_RANGE_WRITE)`` from libc, or ``None``."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the C library this process already uses
        function = libc.sync_file_range
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int

    def start_writeback(fd: int, offset: int, length: int) -> None:
        # Only a hint (the fdatasync of the next commit is what counts), so errors are ignored.
        function(fd, offset, length, _SYNC_FILE_RANGE_WRITE)

    return start_writeback


#: ``start_writeback(fd, offset, length)``, or ``None`` where the system has no ``sync_file_range``.
start_writeback = _load_sync_file_range()


def hash_prefix(path: Path, length: int) -> Any:
    """A ``hashlib.sha256`` object fed with the first ``length`` bytes of ``path``."""
    hasher = hashlib.sha256()
    hash_more(path, hasher, 0, length)
    return hasher


def hash_more(path: Path, hasher: Any, start: int, end: int) -> None:
    """Feed ``hasher`` (which covers the first ``start`` bytes) with ``[start, end)`` of ``path``."""
    with open(path, "rb") as handle:
        handle.seek(start)
        remaining = end - start
        while remaining > 0:
            block = handle.read(min(_HASH_BLOCK, remaining))
            if not block:
                break
            hasher.update(block)
            remaining -= len(block)
