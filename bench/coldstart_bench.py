"""Where the time of one cold, socket-activated ``uidt download --wait`` goes: a timeline.

Each run takes a fresh home in which ``systemd-socket-activate`` listens on the control socket
(untimed, as ``uidt.socket`` does from login on) with the service's own command line
(:func:`uidt.autostart.units.daemon_argv`), then times ``python -m uidt --home HOME download URL
-o DEST --wait`` from its spawn to its exit. Every process of the run (the command line, the
daemon, the transfers worker) appends its start-up marks (:mod:`uidt.timing`) to one file; the
table gives, for each mark, the median of its offset from the command's spawn over the runs, in
the order the marks come, with the process that wrote it. ``curl -o`` of the same file runs
alternately with it for the ratio.

The origin is nginx (one worker, ``sendfile``) when installed, else uidt's test server in a
thread of this process. ``UIDT_BENCH_SIZE`` (default ``1M``; e.g. ``2G``) and
``UIDT_BENCH_RUNS`` (default 5). Run with ``python -m bench coldstart_bench``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.transfer_bench import (
    Origin,
    UidtHome,
    become_subreaper,
    nginx_origin,
    parse_size,
    settle,
    source_file,
    uidt_argv,
    uidt_origin,
)
from uidt.timing import ENV, read_cpu_marks

RUNS = int(os.environ.get("UIDT_BENCH_RUNS", "5"))
SIZE = parse_size(os.environ.get("UIDT_BENCH_SIZE", "1M"))
#: The harness's own marks around the command line.
SPAWN, EXIT = "harness.spawn", "harness.exit"


Offsets = dict[str, tuple[float, float | None]]
"""Each mark's offset from the spawn (its first occurrence) and the process's CPU time then."""


def one_run(origin: Origin, work: Path, dest: Path) -> tuple[float, Offsets]:
    """One cold activated run: its wall time and its marks."""
    home = UidtHome(work)
    marks = home.path.parent / f"{home.path.name}.marks"
    home.listen(extra_env={ENV: str(marks)})
    settle()
    env = {**os.environ, ENV: str(marks)}
    began = time.monotonic()
    subprocess.run(
        uidt_argv(home.path, origin.url, dest),
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ended = time.monotonic()
    home.stop()
    if dest.stat().st_size != SIZE:
        raise RuntimeError(f"uidt wrote {dest.stat().st_size} bytes, expected {SIZE}")
    dest.unlink()
    offsets: Offsets = {SPAWN: (0.0, None)}
    for found in read_cpu_marks(marks):
        offsets.setdefault(found.name, (found.stamp - began, found.cpu))
    offsets[EXIT] = (ended - began, None)
    marks.unlink(missing_ok=True)
    return ended - began, offsets


def curl_once(origin: Origin, dest: Path) -> float:
    """Seconds of ``curl -s -o DEST URL`` (after writing back what was dirty)."""
    settle()
    began = time.monotonic()
    subprocess.run(["curl", "-s", "-o", str(dest), origin.url], check=True)
    wall = time.monotonic() - began
    dest.unlink()
    return wall


@contextlib.contextmanager
def _origin(source: Path) -> Iterator[Origin]:
    with nginx_origin(source) as nginx:
        if nginx is not None:
            yield nginx
            return
    with uidt_origin(source) as own:
        yield own


def report(walls: list[float], curls: list[float], runs: list[Offsets]) -> str:
    """The timeline table (median offsets) and the totals against ``curl -o``."""
    names: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    for offsets in runs:
        for name, (offset, cpu) in offsets.items():
            names.setdefault(name, []).append(offset)
            if cpu is not None:
                cpus.setdefault(name, []).append(cpu)
    ordered = sorted(names, key=lambda name: statistics.median(names[name]))
    lines = [
        f"{SIZE / 2**20:g} MiB, {len(walls)} runs; load average {os.getloadavg()[0]:.2f}",
        "",
        "| mark | median s from spawn | min | max | process CPU s then (median) |",
        "|---|---|---|---|---|",
    ]
    for name in ordered:
        values = names[name]
        cpu = f"{statistics.median(cpus[name]):.3f}" if name in cpus else "-"
        lines.append(
            f"| {name} | {statistics.median(values):.3f} | {min(values):.3f} "
            f"| {max(values):.3f} | {cpu} |"
        )
    lines.append("")
    uidt = statistics.median(walls)
    lines.append(f"uidt download --wait (cold, socket-activated): median {uidt:.3f} s")
    if curls:
        curl = statistics.median(curls)
        ratios = ", ".join(f"{c / u:.2f}" for c, u in zip(curls, walls, strict=True))
        lines.append(f"curl -o: median {curl:.3f} s; speed vs curl {curl / uidt:.2f}x")
        lines.append(f"round by round (curl / uidt): {ratios}")
    return "\n".join(lines)


def main() -> None:
    """Print the timeline of :data:`RUNS` cold activated runs of :data:`SIZE` bytes."""
    if shutil.which("systemd-socket-activate") is None:
        print("systemd-socket-activate is not installed: nothing to measure")
        return
    become_subreaper()
    root = Path(os.environ.get("UIDT_BENCH_DIR", "/tmp/uidt-bench"))
    (root / "srv").mkdir(parents=True, exist_ok=True)
    source = source_file(root / "srv", SIZE)  # kept for the next run, as transfer_bench does
    with tempfile.TemporaryDirectory(prefix="coldstart-", dir=root) as tmp:
        work = Path(tmp)
        dest = work / "download.bin"
        walls: list[float] = []
        curls: list[float] = []
        runs: list[Offsets] = []
        with _origin(source) as origin:
            for number in range(RUNS):
                if shutil.which("curl"):
                    curls.append(curl_once(origin, dest))
                wall, offsets = one_run(origin, work, dest)
                walls.append(wall)
                runs.append(offsets)
                print(f"  run {number + 1}: {wall:.3f} s", file=sys.stderr)
        print(report(walls, curls, runs))


if __name__ == "__main__":
    main()
