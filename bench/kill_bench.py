"""What a SIGKILL of a downloading worker makes the next run fetch again, at several rates.

``python -m bench kill_bench``. For each rate, the engine (``python -m uidt.transfers
download``, default 64 MiB checkpoint interval) downloads from the loopback test server, which
drips the body at that rate, and is killed once 3 s worth of bytes have left the server. The
figure is the part file's size minus the offset its checkpoint records: the bytes the next run
fetches again. Each rate runs with the default ``--record-seconds 1`` (a recorded checkpoint
every half second) and with ``--record-seconds 10`` (every 5 s: the timing before issue 19
item 11, when only the 5 s durable checkpoint went by time). Median of ``RUNS``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import sys
import tempfile
from pathlib import Path

from uidt.testing.httpserver import Faults, TransferTestServer
from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.partfile import checkpoint_path, part_path

MiB = 1024 * 1024
RATES_MIB_S = (2, 8, 32, 96)
KILL_AFTER_S = 3
RUNS = 3
PATH = "/kill/bench.bin"


async def _lost(server: TransferTestServer, dest: Path, rate: int, record_seconds: str) -> int:
    sent_before = server.bytes_sent(PATH)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uidt.transfers",
        "download",
        server.url(PATH),
        str(dest),
        "--record-seconds",
        record_seconds,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.wait_for(server.wait_bytes_sent(PATH, sent_before + KILL_AFTER_S * rate), 60)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    saved = Checkpoint(checkpoint_path(dest)).load()
    recorded = saved["offset"] if saved else 0
    size = part_path(dest).stat().st_size if part_path(dest).exists() else 0
    for leftover in (part_path(dest), checkpoint_path(dest)):
        leftover.unlink(missing_ok=True)
    return size - recorded


async def _measure() -> None:
    async with TransferTestServer() as server:
        server.add_file(PATH, os.urandom((KILL_AFTER_S + 3) * max(RATES_MIB_S) * MiB))
        print(f"killed {KILL_AFTER_S} s into the download; MiB the next run fetches again")
        print("| rate | record every 0.5 s (now) | every 5 s (before) |")
        print("|---|---|---|")
        with tempfile.TemporaryDirectory() as scratch:
            dest = Path(scratch) / "bench.bin"
            for rate_mib in RATES_MIB_S:
                rate = rate_mib * MiB
                server.set_faults(PATH, Faults(drip_bps=rate))
                row = []
                for record_seconds in ("1", "10"):
                    lost = [await _lost(server, dest, rate, record_seconds) for _ in range(RUNS)]
                    median = statistics.median(lost) / MiB
                    row.append(f"{median:.1f} ({median / rate_mib:.2f} s)")
                print(f"| {rate_mib} MiB/s | {row[0]} | {row[1]} |", flush=True)


def main() -> None:
    """Print the table."""
    asyncio.run(_measure())


if __name__ == "__main__":
    main()
