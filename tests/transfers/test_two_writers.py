"""Two real processes downloading to one destination: the second is refused, naming the first."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from uidt.testing.httpserver import TransferTestServer
from uidt.transfers.partfile import part_path
from uidt.transfers.safefile import lock_holder

PATH = "/shared.bin"
DEADLINE_S = 20.0


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def _holder(part: Path) -> int | None:
    try:
        fd = os.open(part, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        return lock_holder(fd)
    finally:
        os.close(fd)


async def _wait_for_lock(part: Path, pid: int) -> None:
    """Poll (bounded) until process ``pid`` holds the lock on ``part``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while _holder(part) != pid:
        assert loop.time() < deadline, f"process {pid} never locked {part}"
        await asyncio.sleep(0.02)


async def _second_writer_is_refused(
    server: TransferTestServer, payload: bytes, dest: Path, second: list[str]
) -> None:
    server.add_file(PATH, payload)
    server.pause(PATH)  # the first writer holds its lock, waiting for the body
    first = await _spawn("uidt.transfers", "download", server.url(PATH), str(dest))
    try:
        await _wait_for_lock(part_path(dest), first.pid)
        other = await _spawn(*second)
        out, err = await asyncio.wait_for(other.communicate(), DEADLINE_S)
        assert other.returncode == 1, (out, err)
        text = (out + err).decode()
        assert f"another transfer is writing {dest} (pid {first.pid})" in text
        assert dest.name not in os.listdir(dest.parent)
    finally:
        server.unpause(PATH)
        out, err = await asyncio.wait_for(first.communicate(), DEADLINE_S)
    assert first.returncode == 0, err.decode()
    _check_published(dest, payload)


def _check_published(dest: Path, payload: bytes) -> None:
    assert dest.read_bytes() == payload
    assert not part_path(dest).exists()


async def test_a_second_engine_process_is_refused(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "shared.bin"
    second = ["uidt.transfers", "download", server.url(PATH), str(dest)]
    await _second_writer_is_refused(server, payload, dest, second)


async def test_a_foreground_download_beside_another_writer_is_refused(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    """``uidt download --foreground`` (its own home, no daemon) next to a running writer."""
    dest = tmp_path / "shared.bin"
    home = tmp_path / "home"
    second = ["uidt", "--home", str(home), "download", server.url(PATH), "-o", str(dest)]
    await _second_writer_is_refused(server, payload, dest, [*second, "--foreground"])
