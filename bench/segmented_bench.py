"""Does splitting one download over N connections help on loopback?

In-process timing (no interpreter start): the real engine (one connection) against a minimal
segmented fetcher (N ``Range`` requests on one event loop, ``os.pwrite`` into a preallocated
file, one fsync at the end). The fetcher is a measuring probe, not part of uidt: the engine
ships single-connection only, because this probe shows no gain on loopback (see README.md).

Env: ``UIDT_BENCH_SIZE`` (default ``1G``), ``UIDT_BENCH_RUNS`` (3), ``UIDT_BENCH_DIR``,
``UIDT_BENCH_CONNECTIONS`` (comma list, default ``2,4``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from pathlib import Path

import aiohttp

from bench.transfer_bench import GiB, MiB, nginx_origin, parse_size, source_file, uidt_origin
from uidt.transfers.download import download
from uidt.transfers.http import new_session


async def fetch_segmented(url: str, dest: Path, size: int, connections: int) -> None:
    """GET ``url`` as ``connections`` byte ranges written with ``pwrite``; fsync once."""
    bounds = [size * i // connections for i in range(connections + 1)]
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.ftruncate(fd, size)
        connector = aiohttp.TCPConnector(limit=connections)
        async with new_session(connector=connector) as session:

            async def segment(start: int, end: int) -> None:
                headers = {"Range": f"bytes={start}-{end - 1}", "Accept-Encoding": "identity"}
                async with session.get(url, headers=headers) as response:
                    if response.status != 206:
                        raise RuntimeError(f"expected 206, got {response.status}")
                    offset = start
                    async for chunk in response.content.iter_any():
                        os.pwrite(fd, chunk, offset)
                        offset += len(chunk)
                if offset != end:
                    raise RuntimeError("short segment")

            await asyncio.gather(*(segment(bounds[i], bounds[i + 1]) for i in range(connections)))
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(dest: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        dest.unlink()


def _size(dest: Path) -> int:
    return dest.stat().st_size


async def _time(case: str, url: str, dest: Path, size: int) -> tuple[float, float]:
    _remove(dest)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if case == "1":
        await download(url, dest, checkpoint_bytes=64 * MiB)
    else:
        await fetch_segmented(url, dest, size, int(case))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if _size(dest) != size:
        raise RuntimeError(f"{case}: wrong size")
    _remove(dest)
    return wall, cpu


def main() -> None:
    """Print one table per origin: connections, median s, MB/s, CPU s/GiB (this process)."""
    size = parse_size(os.environ.get("UIDT_BENCH_SIZE", "1G"))
    runs = int(os.environ.get("UIDT_BENCH_RUNS", "3"))
    work = Path(os.environ.get("UIDT_BENCH_DIR", "/tmp/uidt-bench"))
    connections = os.environ.get("UIDT_BENCH_CONNECTIONS", "2,4").split(",")
    cases = ["1", *connections]
    (work / "srv").mkdir(parents=True, exist_ok=True)
    (work / "dl").mkdir(exist_ok=True)
    source = source_file(work / "srv", size)
    dest = work / "dl" / "segmented.bin"
    with contextlib.ExitStack() as stack:
        origins = [stack.enter_context(uidt_origin(source))]
        nginx = stack.enter_context(nginx_origin(source))
        if nginx is not None:
            origins.append(nginx)
        for origin in origins:
            samples: dict[str, list[tuple[float, float]]] = {case: [] for case in cases}
            for _ in range(runs):
                for case in cases:
                    samples[case].append(asyncio.run(_time(case, origin.url, dest, size)))
            print(f"origin: {origin.name}, {size / MiB:.0f} MiB, in-process, median of {runs}")
            print("note: CPU includes the uidt test server's thread when it is the origin")
            print(
                "\n| connections | median s | MB/s | CPU s/GiB (this process) |\n|---|---|---|---|"
            )
            for case in cases:
                wall = statistics.median(w for w, _ in samples[case])
                cpu = statistics.median(c for _, c in samples[case])
                label = "1 (uidt engine)" if case == "1" else f"{case} (probe)"
                print(
                    f"| {label} | {wall:.2f} | {size / wall / 1e6:.0f} | {cpu / (size / GiB):.2f} |"
                )
            print()


if __name__ == "__main__":
    main()
