"""Disk full: a real 1 MiB tmpfs (needs root to mount; skipped otherwise)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.errors import NoSpaceError
from uidt.testing.httpserver import Faults, TransferTestServer
from uidt.transfers.download import download

PATH = "/big.bin"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


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
