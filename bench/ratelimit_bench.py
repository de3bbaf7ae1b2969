"""Rate-limit accuracy: how long a limited ``uidt download --wait`` takes against size ÷ rate.

Serves one generated file (``UIDT_RATELIMIT_SIZE``, default ``100M``; kept in
``UIDT_BENCH_DIR``) from uidt's own test server on loopback, starts one daemon (a fresh home)
and times, ``UIDT_BENCH_RUNS`` times (default 3), the whole command line:

* ``uidt download URL -o DEST --limit-rate R --wait`` for each rate of
  ``UIDT_RATELIMIT_RATES`` (default ``5M,10M,20M``): one transfer's own limit;
* two ``uidt download --wait`` of half the file each, started together, under a global
  ``uidt cmd bandwidth-limit R`` (the first rate): the daemon's division of the limit;
* one ``uidt download --wait`` under a global ``2M`` that ``uidt cmd bandwidth-limit 20M``
  raises 5 s after the command started: a change while the transfer runs (expected: 5 s, then
  the rest at 20M).

The wall time counts everything the user waits for (the CLI's start, the request, the end of
the job), so it is a little above size ÷ rate; the error column is (wall - expected) ÷
expected. The issue's target: 100 MiB at 5M in 20 s ± 10 %.

Run: ``python -m bench ratelimit_bench`` (or ``python -m bench.ratelimit_bench``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.transfer_bench import parse_size, source_file
from bench.uidthome import UidtHome
from uidt.rates import format_rate, parse_rate
from uidt.testing.httpserver import ThreadedTransferTestServer

MiB = 1024 * 1024


@dataclass(frozen=True)
class Result:
    what: str
    rate: int
    size: int
    walls: list[float]
    #: Seconds the row should take (default: size ÷ rate).
    expected_s: float | None = None
    rate_text: str | None = None

    @property
    def expected(self) -> float:
        return self.expected_s if self.expected_s is not None else self.size / self.rate

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    def row(self) -> str:
        error = (self.wall - self.expected) / self.expected * 100
        achieved = self.size / self.wall / MiB
        walls = " / ".join(f"{w:.2f}" for w in self.walls)
        return (
            f"| {self.what} | {self.rate_text or format_rate(self.rate)} | "
            f"{self.size / MiB:.0f} MiB | "
            f"{self.expected:.2f} | {self.wall:.2f} ({walls}) | {error:+.1f} % | "
            f"{achieved:.2f} MiB/s |"
        )


def _uidt(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "uidt", "--home", str(home), *args]


def _timed(commands: list[list[str]]) -> float:
    """Run ``commands`` at once; the seconds until the last one ended (each must succeed)."""
    started = time.monotonic()
    procs = [
        subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in commands
    ]
    for proc, command in zip(procs, commands, strict=True):
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {err.decode(errors='replace')}")
    return time.monotonic() - started


def _changed_midway(home: Path, url: str, dest: Path, to: int, after_s: float) -> float:
    """``uidt download --wait`` whose global limit becomes ``to`` ``after_s`` after its start."""
    argv = _uidt(home, "download", url, "-o", str(dest), "--wait")
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(after_s)  # noqa: TID251 - the benchmark's schedule, not a wait for an event
    change = _uidt(home, "cmd", "bandwidth-limit", str(to))
    subprocess.run(change, check=True, stdout=subprocess.DEVNULL)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {err.decode(errors='replace')}")
    return time.monotonic() - started


def main() -> None:
    size = parse_size(os.environ.get("UIDT_RATELIMIT_SIZE", "100M"))
    runs = int(os.environ.get("UIDT_BENCH_RUNS", "3"))
    rates = [
        r
        for r in (
            parse_rate(t) for t in os.environ.get("UIDT_RATELIMIT_RATES", "5M,10M,20M").split(",")
        )
        if r is not None
    ]
    directory = Path(os.environ.get("UIDT_BENCH_DIR", "/tmp/uidt-bench"))
    directory.mkdir(parents=True, exist_ok=True)
    source = source_file(directory, size)
    half = source_file(directory, size // 2)
    target = Path(tempfile.mkdtemp(prefix="ratelimit-", dir=directory))
    home = UidtHome(directory)
    results: list[Result] = []
    with ThreadedTransferTestServer() as server:
        server.add_path("/file.bin", source)
        server.add_path("/half.bin", half)
        try:
            home.start()
            for rate in rates:
                walls = []
                for run in range(runs):
                    dest = target / f"limited-{rate}-{run}.bin"
                    argv = _uidt(
                        home.path, "download", server.url("/file.bin"), "-o", str(dest),
                        "--limit-rate", str(rate), "--wait",
                    )  # fmt: skip
                    walls.append(_timed([argv]))
                    dest.unlink()
                results.append(Result("`--limit-rate` (one transfer)", rate, size, walls))
                print(results[-1].row(), flush=True)
            rate = rates[0]
            subprocess.run(
                _uidt(home.path, "cmd", "bandwidth-limit", str(rate)),
                check=True,
                stdout=subprocess.DEVNULL,
            )
            walls = []
            for run in range(runs):
                dests = [target / f"shared-{run}-{n}.bin" for n in range(2)]
                walls.append(
                    _timed(
                        [
                            _uidt(
                                home.path,
                                "download",
                                server.url("/half.bin"),
                                "-o",
                                str(d),
                                "--wait",
                            )
                            for d in dests
                        ]
                    )
                )
                for dest in dests:
                    dest.unlink()
            results.append(
                Result(
                    "global `bandwidth-limit`, 2 transfers of half", rate, 2 * (size // 2), walls
                )
            )
            print(results[-1].row(), flush=True)
            before, after, at_s = 2 * MiB, 20 * MiB, 5.0
            walls = []
            for run in range(runs):
                subprocess.run(
                    _uidt(home.path, "cmd", "bandwidth-limit", str(before)),
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                dest = target / f"changed-{run}.bin"
                walls.append(_changed_midway(home.path, server.url("/file.bin"), dest, after, at_s))
                dest.unlink()
            expected = at_s + (size - before * at_s) / after
            results.append(
                Result(
                    "global 2M, `bandwidth-limit 20M` 5 s after the start",
                    after,
                    size,
                    walls,
                    expected_s=expected,
                    rate_text="2M → 20M",
                )
            )
            print(results[-1].row(), flush=True)
        finally:
            home.stop()
    print()
    print(f"Rate-limit accuracy ({runs} runs each, median; wall of the whole command line):")
    print()
    print("| limit | rate | size | expected s | wall s (runs) | error | achieved |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for result in results:
        print(result.row())


if __name__ == "__main__":
    main()
