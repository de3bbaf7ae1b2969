"""Segmented download (``--split``): does it help where it should, and never hurt on loopback?

The real engine, as a user runs it without a daemon (``python -m uidt.transfers download``, a
fresh interpreter per run), in two tables:

1. **A server that limits each connection** (uidt's test server, ``Faults(drip_bps=...)``:
   every request's body at most that many bytes per second): one connection (``--split 1``)
   against four (``--split 4 --min-split-size`` a quarter of the file, so exactly four ranges)
   and ``--split auto`` (``--min-split-size`` a 32nd: room to grow to its most, 8, and cut).
   The target of issue 15 is a ratio of at least 3.
2. **Loopback without a limit** (nginx when installed, else the test server): ``--split 1``,
   ``--split auto`` (which must not be slower than one connection), ``--split 4`` (at the
   default ``--min-split-size``, 20M) and the engine's default (no option), alternating,
   median of the runs.

Env: ``UIDT_BENCH_LIMITED_SIZE`` (``64M``), ``UIDT_BENCH_PER_CONNECTION`` (``4M``, bytes per
second), ``UIDT_BENCH_SIZE`` (``1G``, table 2), ``UIDT_BENCH_RUNS`` (3), ``UIDT_BENCH_DIR``.
The load average is printed before and after: the machine may be shared.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.transfer_bench import (
    MiB,
    Origin,
    nginx_origin,
    parse_size,
    run_once,
    source_file,
    uidt_origin,
)
from uidt.testing.httpserver import Faults, ThreadedTransferTestServer


@dataclass
class Case:
    """One way of downloading: a label and the engine's extra arguments."""

    label: str
    args: list[str]
    walls: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)


def engine_argv(url: str, dest: Path, args: list[str]) -> list[str]:
    """The stand-alone engine downloading ``url`` to ``dest`` with ``args``."""
    return [sys.executable, "-m", "uidt.transfers", "download", url, str(dest), *args]


def run_cases(origin: Origin, cases: list[Case], dest: Path, size: int, runs: int) -> None:
    """Run every case ``runs`` times, alternating, each from an empty destination."""
    for _ in range(runs):
        for case in cases:
            with contextlib.suppress(FileNotFoundError):
                dest.unlink()
            wall, _cpu, _server = run_once(engine_argv(origin.url, dest, case.args), origin)
            if dest.stat().st_size != size:
                raise RuntimeError(f"{case.label}: the file is {dest.stat().st_size} bytes")
            case.walls.append(wall)
    dest.unlink()


@contextlib.contextmanager
def limited_origin(source: Path, per_connection: int) -> Iterator[Origin]:
    """uidt's test server sending each request's body at ``per_connection`` bytes/s at most."""
    with ThreadedTransferTestServer() as server:
        server.add_path("/file.bin", source)
        server.set_faults("/file.bin", Faults(drip_bps=per_connection))
        yield Origin(
            f"uidt test server, {per_connection / MiB:g} MiB/s per connection",
            server.url("/file.bin"),
        )


def limited_cases(size: int) -> list[Case]:
    """One connection, four ranges of a quarter of the file each, and ``auto``."""
    return [
        Case("--split 1", ["--split", "1"]),
        Case("--split 4", ["--split", "4", "--min-split-size", str(size // 4)]),
        Case("--split auto", ["--split", "auto", "--min-split-size", str(size // 32)]),
    ]


def loopback_cases() -> list[Case]:
    """``--split 1`` (the ratios' base), ``auto``, ``--split 4`` (default
    ``--min-split-size``) and the engine's default (no option)."""
    return [
        Case("--split 1", ["--split", "1"]),
        Case("--split auto", ["--split", "auto"]),
        Case("--split 4", ["--split", "4"]),
        Case("default (no option)", []),
    ]


def table(origin: Origin, cases: list[Case], size: int, runs: int) -> str:
    """A markdown table of the cases' medians, with the ratio to the first."""
    first = cases[0].median
    lines = [
        f"origin: {origin.name}, {size / MiB:.0f} MiB, median of {runs} alternating runs",
        "",
        f"| case | median s | MB/s | speed vs {cases[0].label} |",
        "|---|---|---|---|",
    ]
    for case in cases:
        wall = case.median
        lines.append(
            f"| {case.label} | {wall:.2f} | {size / wall / 1e6:.0f} | {first / wall:.2f}x |"
        )
    return "\n".join(lines)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    """Print the two tables (see the module docstring)."""
    runs = int(os.environ.get("UIDT_BENCH_RUNS", "3"))
    work = Path(os.environ.get("UIDT_BENCH_DIR", "/tmp/uidt-bench"))
    limited_size = parse_size(os.environ.get("UIDT_BENCH_LIMITED_SIZE", "64M"))
    per_connection = parse_size(os.environ.get("UIDT_BENCH_PER_CONNECTION", "4M"))
    size = parse_size(os.environ.get("UIDT_BENCH_SIZE", "1G"))
    (work / "srv").mkdir(parents=True, exist_ok=True)
    (work / "dl").mkdir(exist_ok=True)
    dest = work / "dl" / "segmented.bin"
    print(f"before: {_load()}")
    source = source_file(work / "srv", limited_size)
    with limited_origin(source, per_connection) as origin:
        cases = limited_cases(limited_size)
        run_cases(origin, cases, dest, limited_size, runs)
        print(table(origin, cases, limited_size, runs), "\n", flush=True)
    source = source_file(work / "srv", size)
    with nginx_origin(source) as nginx, contextlib.ExitStack() as stack:
        origin = nginx if nginx is not None else stack.enter_context(uidt_origin(source))
        cases = loopback_cases()
        run_cases(origin, cases, dest, size, runs)
        print(table(origin, cases, size, runs), "\n", flush=True)
    print(f"after: {_load()}")


if __name__ == "__main__":
    main()
