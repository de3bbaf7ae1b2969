"""What a plain-HTTP redirect costs a download: requests, and which reader takes the body.

Two of uidt's loopback test servers (two ports: two origins) in threads of this process; the
first answers ``302`` to the second's file. The engine (:func:`uidt.transfers.download.download`)
fetches the file ``UIDT_BENCH_RUNS`` times (default 3), round-robin:

* **direct**: the second server's URL, splice reader;
* **redirected, splice**: the first server's URL; the splice reader follows the redirect;
* **redirected, aiohttp**: the same with ``raw_http=False``: the reader that took every
  redirected body before the splice reader followed redirects itself.

The table gives the median wall time, MiB/s, the requests both servers saw per download, and
the ratio to the direct row. Size: ``UIDT_BENCH_SIZE`` (default here ``256M``).

Run: ``python -m bench redirect_bench``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.transfer_bench import parse_size, source_file
from uidt.testing.httpserver import Faults, ThreadedTransferTestServer
from uidt.transfers.download import download

MiB = 1024 * 1024


def _once(url: str, dest: Path, *, raw_http: bool) -> float:
    dest.unlink(missing_ok=True)
    began = time.perf_counter()
    asyncio.run(download(url, dest, raw_http=raw_http))
    return time.perf_counter() - began


def main() -> None:
    size = parse_size(os.environ.get("UIDT_BENCH_SIZE", "256M"))
    runs = int(os.environ.get("UIDT_BENCH_RUNS", "3"))
    folder = Path(os.environ.get("UIDT_BENCH_DIR", "/tmp/uidt-bench"))
    folder.mkdir(parents=True, exist_ok=True)
    source = source_file(folder, size)
    with ThreadedTransferTestServer() as first, ThreadedTransferTestServer() as second:
        for server in (first, second):
            server.server.chunk_size = 1 * MiB
        second.add_path("/file.bin", source)
        first.set_faults("/moved", Faults(redirect_to=second.url("/file.bin")))
        cases = [
            ("direct", second.url("/file.bin"), True),
            ("redirected, splice", first.url("/moved"), True),
            ("redirected, aiohttp", first.url("/moved"), False),
        ]
        walls: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        requests: dict[str, int] = {}
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            dest = Path(tmp) / "out.bin"
            for _ in range(runs):
                for name, url, raw in cases:
                    before = len(first.server.requests) + len(second.server.requests)
                    walls[name].append(_once(url, dest, raw_http=raw))
                    seen = len(first.server.requests) + len(second.server.requests)
                    requests[name] = seen - before
                    assert dest.read_bytes()[:4096] == source.read_bytes()[:4096]
    direct = statistics.median(walls["direct"])
    print(f"\n## redirect_bench: {size / MiB:.0f} MiB, {runs} runs, engine in-process\n")
    print("| case | median s | MiB/s | requests | time ÷ direct |")
    print("|---|---:|---:|---:|---:|")
    for name, _, _ in cases:
        wall = statistics.median(walls[name])
        mibs = size / MiB / wall
        print(f"| {name} | {wall:.3f} | {mibs:.0f} | {requests[name]} | {wall / direct:.2f} |")


if __name__ == "__main__":
    main()
