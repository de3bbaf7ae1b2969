"""What a SIGKILL of a downloading worker, and what a reboot, make the next run fetch again.

``python -m bench kill_bench``. For each rate, the engine (``python -m uidt.transfers
download``, default intervals) downloads from the loopback test server, which drips the body
at that rate, and is killed once 3 s worth of bytes have left the server. Two figures:

* **kill**: what the next run in the same boot fetches again, measured: it runs to the end
  (at full speed) and the figure is every byte the server sent minus the file's size;
* **reboot**: what a run in a new boot would fetch again: the part file's size at the kill
  minus the durable offset its checkpoint names (a new boot trusts only that prefix).

Median and worst of ``UIDT_BENCH_RUNS`` (default 3). ``UIDT_BENCH_KILL_RATES`` (MiB/s,
comma-separated) picks the rates.
"""

from __future__ import annotations

import asyncio
import logging
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
#: 9.54 MiB/s is 10 MB/s, the bad day's 80 Mbit/s.
RATES_MIB_S = (2.0, 8.0, 9.54, 32.0, 96.0)
KILL_AFTER_S = 3
PATH = "/kill/bench.bin"


async def _engine(server: TransferTestServer, dest: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uidt.transfers",
        "download",
        server.url(PATH),
        str(dest),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def _one(server: TransferTestServer, dest: Path, rate: int, size: int) -> tuple[int, int]:
    """Kill once, finish; return (bytes the next run fetched again, bytes not durable)."""
    server.set_faults(PATH, Faults(drip_bps=rate))
    sent_before = server.bytes_sent(PATH)
    process = await _engine(server, dest)
    await asyncio.wait_for(server.wait_bytes_sent(PATH, sent_before + KILL_AFTER_S * rate), 60)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    saved = Checkpoint(checkpoint_path(dest)).load() or {}
    on_disk = part_path(dest).stat().st_size if part_path(dest).exists() else 0
    durable = saved.get("durable_offset", saved.get("offset", 0))
    server.set_faults(PATH)
    process = await _engine(server, dest)
    await asyncio.wait_for(process.wait(), 120)
    refetched = server.bytes_sent(PATH) - sent_before - size
    _remove(dest)
    return refetched, on_disk - durable


def _remove(dest: Path) -> None:
    for leftover in (dest, part_path(dest), checkpoint_path(dest)):
        leftover.unlink(missing_ok=True)


def _cell(values: list[int], rate_mib: float) -> str:
    median, worst = statistics.median(values) / MiB, max(values) / MiB
    return f"{median:.1f} / {worst:.1f} ({worst / rate_mib:.2f} s)"


async def _measure() -> None:
    runs = int(os.environ.get("UIDT_BENCH_RUNS", "3"))
    wanted = os.environ.get("UIDT_BENCH_KILL_RATES")
    rates = tuple(float(r) for r in wanted.split(",")) if wanted else RATES_MIB_S
    size = int((KILL_AFTER_S + 2) * max(rates) * MiB)
    async with TransferTestServer() as server:
        server.add_file(PATH, os.urandom(size))
        print(f"killed {KILL_AFTER_S} s into the download; MiB fetched again, median / worst")
        print("| rate | after a kill (same boot) | after a reboot (new boot) |")
        print("|---|---|---|")
        with tempfile.TemporaryDirectory() as scratch:
            dest = Path(scratch) / "bench.bin"
            for rate_mib in rates:
                rate = int(rate_mib * MiB)
                got = [await _one(server, dest, rate, size) for _ in range(runs)]
                kills, reboots = [k for k, _ in got], [r for _, r in got]
                print(
                    f"| {rate_mib:g} MiB/s | {_cell(kills, rate_mib)} | {_cell(reboots, rate_mib)} |",
                    flush=True,
                )


def main() -> None:
    """Print the table."""
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # writes to killed clients
    asyncio.run(_measure())


if __name__ == "__main__":
    main()
