"""SIGKILL a downloading process in the same boot: the next run asks for exactly the bytes it
does not have, whatever the checkpoint's offset (issue 20: a kill re-fetches nothing it wrote).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from uidt.testing.httpserver import Faults, TransferTestServer
from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.partfile import checkpoint_path, part_path

KiB = 1024
MiB = 1024 * KiB
PATH = "/kill/tail.bin"
#: Recorded and durable checkpoints so rare that every byte after the first is in the tail.
RARE = ["--record-seconds", "600", "--checkpoint-seconds", "600"]
BOOT_ID = "/proc/sys/kernel/random/boot_id"


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uidt.transfers",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def _kill_once_written(
    server: TransferTestServer,
    dest: Path,
    more: int,
    *args: str,
    ready: Callable[[], bool] = lambda: True,
) -> int:
    """Run a download until the server sent ``more`` bytes, hold the body, wait until the part
    file holds every byte sent (and ``ready()``), SIGKILL the process; return the part file's
    size.
    """
    server.unpause(PATH)
    process = await _spawn(*args)
    target = server.bytes_sent(PATH) + more
    await asyncio.wait_for(server.wait_bytes_sent(PATH, target), 30)
    server.pause(PATH)
    record = server.gets()[-1]
    on_disk = record.start + record.body_bytes
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while _size(part_path(dest)) < on_disk or not ready():  # a real process: poll, bounded
        assert loop.time() < deadline, "the killed run never wrote what it received"
        await asyncio.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    await process.communicate()
    assert process.returncode == -signal.SIGKILL
    await asyncio.wait_for(record.finished.wait(), 10)  # the server saw the client go
    return _size(part_path(dest))


@pytest.mark.parametrize("hashing", [True, False], ids=["sha256", "no-sha256"])
async def test_a_kill_in_the_same_boot_refetches_nothing_it_wrote(
    server: TransferTestServer, tmp_path: Path, hashing: bool
) -> None:
    data = os.urandom(4 * MiB + 12345)
    digest = hashlib.sha256(data).hexdigest()
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=8 * MiB))
    dest = tmp_path / "tail.bin"
    args = ["download", server.url(PATH), str(dest), *RARE]
    if hashing:
        args += ["--sha256", digest]

    first = await _kill_once_written(server, dest, 1 * MiB, *args)
    saved = Checkpoint(checkpoint_path(dest)).load()
    assert saved is not None
    assert saved["offset"] < first  # the tail no checkpoint names
    second = await _kill_once_written(server, dest, 1 * MiB, *args)
    assert server.gets()[1].range == f"bytes={first}-"
    assert second > first

    server.set_faults(PATH)
    server.unpause(PATH)
    process = await _spawn(*args)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    result = json.loads(out)
    assert server.gets()[2].range == f"bytes={second}-"
    assert result["resumed_from"] == second
    assert result["sha256"] == (digest if hashing else None)
    assert dest.read_bytes() == data
    assert server.bytes_sent(PATH) == len(data)  # not one byte sent twice


async def test_a_kill_after_the_file_changed_keeps_only_the_new_versions_bytes(
    server: TransferTestServer, tmp_path: Path
) -> None:
    """Killed with a tail of the old file, the server's file replaced while no one ran: the
    next run's answer names the new version and its bytes are written from zero; killed again,
    the run after that keeps exactly the new version's bytes.
    """
    old, new = os.urandom(3 * MiB), os.urandom(3 * MiB + 777)
    server.add_file(PATH, old)
    server.set_faults(PATH, Faults(drip_bps=8 * MiB))
    dest = tmp_path / "tail.bin"
    args = ["download", server.url(PATH), str(dest), *RARE]

    first = await _kill_once_written(server, dest, 1 * MiB, *args)
    server.change_file(PATH, new)
    sent_before = server.bytes_sent(PATH)
    second = await _kill_once_written(server, dest, 1 * MiB + 4096, *args)
    asked = server.gets()[1]
    assert (asked.range, asked.status, asked.start) == (f"bytes={first}-", 200, 0)
    assert part_path(dest).read_bytes() == new[:second]  # not one byte of the old file

    server.set_faults(PATH)
    server.unpause(PATH)
    process = await _spawn(*args)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert server.gets()[2].range == f"bytes={second}-"
    assert json.loads(out)["resumed_from"] == second
    assert dest.read_bytes() == new
    assert server.bytes_sent(PATH) - sent_before == len(new)


def _new_boot_prefix(tmp_path: Path) -> list[str]:
    """A command prefix that runs a process as if the machine had restarted: a new boot id,
    bound over the kernel's in a mount namespace of its own (gone when the process ends)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a new boot id needs root and unshare (a mount namespace)")
    boot_file = tmp_path / "boot_id"
    boot_file.write_text(f"a-new-boot-{os.getpid()}\n")
    script = 'mount --bind "$0" /proc/sys/kernel/random/boot_id && exec "$@"'
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, str(boot_file), "cat", BOOT_ID],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0 or probe.stdout.decode().strip() != boot_file.read_text().strip():
        pytest.skip("mount namespaces are not permitted here")
    return ["unshare", "-m", "sh", "-c", script, str(boot_file)]


async def test_after_a_reboot_the_next_run_asks_from_the_durable_offset(
    server: TransferTestServer, tmp_path: Path
) -> None:
    """Killed with bytes that are recorded or only written, then run in a new boot: only the
    fsynced prefix the checkpoint names is kept, and the request starts exactly there."""
    prefix = _new_boot_prefix(tmp_path)
    data = os.urandom(6 * MiB)
    digest = hashlib.sha256(data).hexdigest()
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=8 * MiB))
    dest = tmp_path / "tail.bin"
    args = ["download", server.url(PATH), str(dest), "--sha256", digest]

    def durable_offset() -> int:
        saved = Checkpoint(checkpoint_path(dest)).load() or {}
        offset = saved.get("durable_offset", 0)
        return offset if isinstance(offset, int) else 0

    # 4 MiB at 8 MiB/s: a durable checkpoint by bytes (2 MiB, 250 ms) has started on the way
    on_disk = await _kill_once_written(
        server, dest, 4 * MiB, *args, ready=lambda: durable_offset() > 0
    )
    durable = durable_offset()
    assert 0 < durable <= on_disk

    server.set_faults(PATH)
    server.unpause(PATH)
    process = await asyncio.create_subprocess_exec(
        *prefix,
        sys.executable,
        "-m",
        "uidt.transfers",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert server.gets()[1].range == f"bytes={durable}-"
    assert json.loads(out)["resumed_from"] == durable
    assert dest.read_bytes() == data
