"""A 200-file batch: ``uidt download -i LIST --wait`` vs ``aria2c -i LIST`` vs a shell loop of curl.

``python -m bench batch_bench``. The project's loopback test server serves :data:`FILES` small
files (:data:`SIZE` bytes each); each client downloads all of them into a fresh folder, and the
bytes are checked. uidt runs against a daemon that is already up (a fresh home per run, the
daemon started before the clock starts), with ``-j`` = aria2c's ``-j`` = :data:`JOBS`; the curl
row is ``for u in …; do curl -sS -o …; done`` (one file after another, as a shell loop does).
Each row is the median of :data:`RUNS` runs, alternating clients. Printed: seconds and the ratio
to aria2c and to the curl loop.

Environment: ``UIDT_BENCH_RUNS`` (default 3), ``UIDT_BENCH_BATCH_JOBS`` (default 8).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from uidt.testing.httpserver import ThreadedTransferTestServer

FILES = 200
SIZE = 16 * 1024
RUNS = int(os.environ.get("UIDT_BENCH_RUNS", "3"))
JOBS = int(os.environ.get("UIDT_BENCH_BATCH_JOBS", "8"))
TIMEOUT_S = 600.0


def _data(n: int) -> bytes:
    return (f"{n:08d}".encode() * (SIZE // 8 + 1))[:SIZE]


def _check(folder: Path) -> None:
    for n in range(FILES):
        if (folder / f"f{n:03d}.bin").read_bytes() != _data(n):
            raise SystemExit(f"batch_bench: {folder}/f{n:03d}.bin is wrong")


def _uidt(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "uidt", "--home", str(home), *args]


def run_uidt(server: ThreadedTransferTestServer, work: Path) -> float:
    home, out = work / "home", work / "out"
    out.mkdir()
    listing = work / "list.txt"
    listing.write_text(
        "".join(f"{server.url(f'/b/{n}')}\n  out=f{n:03d}.bin\n" for n in range(FILES))
    )
    subprocess.run(_uidt(home, "daemon"), check=True, capture_output=True, timeout=60)
    try:
        started = time.monotonic()
        subprocess.run(
            _uidt(home, "download", "-i", str(listing), "-o", str(out), "-j", str(JOBS), "--wait"),
            check=True,
            capture_output=True,
            timeout=TIMEOUT_S,
        )
        elapsed = time.monotonic() - started
    finally:
        subprocess.run(_uidt(home, "daemon", "stop"), check=False, capture_output=True)
    _check(out)
    return elapsed


def run_aria2c(server: ThreadedTransferTestServer, work: Path) -> float:
    out = work / "out"
    out.mkdir()
    listing = work / "list.txt"
    listing.write_text(
        "".join(f"{server.url(f'/b/{n}')}\n  out=f{n:03d}.bin\n" for n in range(FILES))
    )
    started = time.monotonic()
    subprocess.run(
        ["aria2c", "-q", "-i", str(listing), "-d", str(out), "-j", str(JOBS)],
        check=True,
        timeout=TIMEOUT_S,
    )
    elapsed = time.monotonic() - started
    _check(out)
    return elapsed


def run_curl(server: ThreadedTransferTestServer, work: Path) -> float:
    out = work / "out"
    out.mkdir()
    script = "".join(
        f"curl -sS -o {out}/f{n:03d}.bin {server.url(f'/b/{n}')} || exit 1\n" for n in range(FILES)
    )
    started = time.monotonic()
    subprocess.run(["sh", "-c", script], check=True, timeout=TIMEOUT_S)
    elapsed = time.monotonic() - started
    _check(out)
    return elapsed


def main() -> None:
    clients: dict[str, Callable[[ThreadedTransferTestServer, Path], float]] = {"uidt": run_uidt}
    for tool, runner in (("aria2c", run_aria2c), ("curl", run_curl)):
        if shutil.which(tool):
            clients[f"{tool} -i" if tool == "aria2c" else "curl loop"] = runner
    times: dict[str, list[float]] = {name: [] for name in clients}
    with ThreadedTransferTestServer() as server:
        for n in range(FILES):
            server.add_file(f"/b/{n}", _data(n))
        for _ in range(RUNS):
            for name, runner in clients.items():
                with tempfile.TemporaryDirectory(prefix="uidt-batch-") as work:
                    times[name].append(runner(server, Path(work)))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"## batch_bench: {FILES} files of {SIZE} B, -j {JOBS}, median of {RUNS}")
    print("| client | s | ÷ aria2c | ÷ curl loop |")
    print("| --- | --- | --- | --- |")
    for name, value in medians.items():
        ratios = [
            f"{value / medians[ref]:.2f}" if ref in medians else "-"
            for ref in ("aria2c -i", "curl loop")
        ]
        print(f"| {name} | {value:.2f} | {' | '.join(ratios)} |")


if __name__ == "__main__":
    main()
