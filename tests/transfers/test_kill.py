"""SIGKILL a downloading process at random moments; the next run resumes and loses little."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import signal
import sys
from pathlib import Path

import pytest

from uidt.testing.httpserver import Faults, TransferTestServer
from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.partfile import checkpoint_path, part_path

KiB = 1024
CHECKPOINT_BYTES = 256 * KiB
# a chunk from the socket may land just after a checkpoint was due; allow one read's worth
READ_SLACK = 256 * KiB
PATH = "/kill/big.bin"


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


@pytest.mark.slow
async def test_sigkill_at_random_moments_then_finish(
    server: TransferTestServer, tmp_path: Path
) -> None:
    data = os.urandom(6 * 1024 * KiB)
    digest = hashlib.sha256(data).hexdigest()
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=8 * 1024 * KiB))
    dest = tmp_path / "big.bin"
    args = ["download", server.url(PATH), str(dest), "--sha256", digest]
    args += ["--checkpoint-bytes", str(CHECKPOINT_BYTES)]
    rng = random.Random(7)
    kills = 0
    for _ in range(10):
        sent_before = server.bytes_sent(PATH)
        process = await _spawn(*args)
        target = sent_before + rng.randrange(64 * KiB, 640 * KiB)
        await asyncio.wait_for(server.wait_bytes_sent(PATH, target), 20)
        process.send_signal(signal.SIGKILL)
        await process.communicate()
        assert process.returncode == -signal.SIGKILL
        kills += 1
        on_disk = _size(part_path(dest))
        saved = Checkpoint(checkpoint_path(dest)).load()
        durable = saved["offset"] if saved else 0
        assert durable <= on_disk
        assert on_disk - durable <= CHECKPOINT_BYTES + READ_SLACK
        assert not dest.exists()
    server.set_faults(PATH)
    process = await _spawn(*args)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    result = json.loads(out)
    assert result["sha256"] == digest
    assert dest.read_bytes() == data
    assert not part_path(dest).exists()
    assert not checkpoint_path(dest).exists()
    # every resume asked for exactly the checkpointed offset, and re-sent bytes are bounded
    gets = [r for r in server.requests if r.method == "GET"]
    assert len(gets) == kills + 1
    resent = server.bytes_sent(PATH) - len(data)
    assert resent <= kills * (CHECKPOINT_BYTES + READ_SLACK + 1024 * KiB)


async def _kill_after(server: TransferTestServer, dest: Path, sent: int, *extra: str) -> int:
    """SIGKILL a download once ``sent`` bytes left the server; return what the next run re-fetches."""
    process = await _spawn("download", server.url(PATH), str(dest), *extra)
    await asyncio.wait_for(server.wait_bytes_sent(PATH, sent), 30)
    process.send_signal(signal.SIGKILL)
    await process.communicate()
    saved = Checkpoint(checkpoint_path(dest)).load()
    recorded = saved["offset"] if saved else 0
    return _size(part_path(dest)) - recorded


@pytest.mark.slow
async def test_sigkill_at_8_mib_s_loses_under_a_second(
    server: TransferTestServer, tmp_path: Path
) -> None:
    """Issue 19 item 11: with the default intervals (64 MiB, durable every 5 s), a kill 3 s
    into a download at 8 MiB/s used to leave all 24 MiB unnamed by any checkpoint
    (``--record-seconds 5`` still does); a checkpoint recorded on time (no fsync) keeps that
    under a second of transfer. (Since issue 20 the next run in the same boot also keeps those
    bytes, the tail: ``test_kill_tail.py``; this bounds what a checkpoint names.)
    """
    rate = 8 * 1024 * KiB
    server.add_file(PATH, os.urandom(6 * rate))
    server.set_faults(PATH, Faults(drip_bps=rate))
    lost = await _kill_after(server, tmp_path / "a.bin", 3 * rate)
    print(f"killed after 3 s at 8 MiB/s: {lost / (1024 * KiB):.1f} MiB to fetch again")
    # a second of transfer at most, in flight (socket, pipe) included
    assert lost <= rate


@pytest.mark.slow
async def test_sigkill_during_tus_upload_then_resume(
    server: TransferTestServer, tmp_path: Path
) -> None:
    data = os.urandom(4 * 1024 * KiB)
    source = tmp_path / "up.bin"
    source.write_bytes(data)
    server.set_faults("/files/1", Faults(drip_bps=8 * 1024 * KiB))
    process = await _spawn("upload", str(source), server.url("/files/"))
    await asyncio.wait_for(server.wait_bytes_sent("/files/1", 1024 * KiB), 20)
    process.send_signal(signal.SIGKILL)
    await process.communicate()
    patch = next(r for r in server.requests if r.method == "PATCH")
    await asyncio.wait_for(patch.finished.wait(), 10)  # the server saw the client vanish
    kept = len(server.uploads["1"])
    assert kept >= 1024 * KiB
    server.set_faults("/files/1")
    process = await _spawn("upload", str(source), server.url("/files/"))
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    result = json.loads(out)
    assert result["mode"] == "tus"
    assert result["resumed_from"] == kept
    assert result["bytes_sent"] == len(data) - kept
    assert bytes(server.uploads["1"]) == data
    assert list(server.uploads) == ["1"]  # the same upload continued, no new one created


async def test_standalone_errors_exit_1(server: TransferTestServer, tmp_path: Path) -> None:
    process = await _spawn("download", server.url("/missing"), str(tmp_path / "x"))
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert b"404" in err
