"""Disk full: a real 1 MiB tmpfs (needs root to mount; skipped otherwise)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.errors import NoSpaceError
from uidt.testing.httpserver import Faults, TransferTestServer
from uidt.testing.smalldisk import small_tmpfs
from uidt.transfers.download import download

PATH = "/big.bin"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs (root only; skipped otherwise), unmounted afterwards."""
    with small_tmpfs(tmp_path, "1m") as mount_point:
        yield mount_point


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_known_length_that_does_not_fit_fails_before_writing(
    server: TransferTestServer, payload: bytes, small_disk: Path
) -> None:
    server.add_file(PATH, payload)
    with pytest.raises(NoSpaceError, match="free") as caught:
        await download(server.url(PATH), small_disk / "big.bin")
    assert isinstance(caught.value, OSError)
    assert _listing(small_disk) == []


async def test_disk_filling_up_while_writing(
    server: TransferTestServer, payload: bytes, small_disk: Path
) -> None:
    server.add_file(PATH, payload)
    server.set_faults(PATH, Faults(no_length=True))  # no Content-Length: no early check
    dest = small_disk / "big.bin"
    with pytest.raises(NoSpaceError, match="no space"):
        await download(server.url(PATH), dest, checkpoint_bytes=128 * 1024)
    assert "big.bin" not in _listing(small_disk)
