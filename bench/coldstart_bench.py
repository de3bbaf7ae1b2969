"""Where the time of one cold, socket-activated ``uidt download --wait`` goes: a timeline.

Each run takes a fresh home in which ``systemd-socket-activate`` listens on the control socket
(untimed, as ``uidt.socket`` does from login on) with the service's own command line
(:func:`uidt.autostart.units.daemon_argv`), then times ``python -m uidt --home HOME download URL
-o DEST --wait`` from its spawn to its exit. Every process of the run (the command line, the
daemon, the transfers worker) appends its marks (:mod:`uidt.timing`) to one file; the table
gives, for each mark, the median of its offset from the command's spawn over the runs, in the
order the marks come, and the median CPU time its process had used by then. ``curl -o`` of the
same file runs in every round for the ratio.

``UIDT_BENCH_BASE_PYTHON=/other/venv/bin/python`` adds a second lane, the uidt that interpreter
imports (another checkout with its own virtualenv), run in the same rounds in alternating order:
an A/B on the same machine at the same moment. The origin is nginx (one worker, ``sendfile``)
when installed, else uidt's test server in a thread of this process. ``UIDT_BENCH_SIZE``
(default ``1M``; e.g. ``2G``), ``UIDT_BENCH_RUNS`` (default 5), ``UIDT_BENCH_DIR`` (where the
source file is kept, default ``/tmp/uidt-bench``). Run with ``python -m bench coldstart_bench``.
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
from dataclasses import dataclass, field
from pathlib import Path

from bench.transfer_bench import (
    Origin,
    nginx_origin,
    parse_size,
    settle,
    source_file,
    uidt_argv,
    uidt_origin,
)
from bench.uidthome import UidtHome, become_subreaper
from uidt.timing import ENV, read_cpu_marks

RUNS = int(os.environ.get("UIDT_BENCH_RUNS", "5"))
SIZE = parse_size(os.environ.get("UIDT_BENCH_SIZE", "1M"))
#: The harness's own marks around the command line.
SPAWN, EXIT = "harness.spawn", "harness.exit"

Offsets = dict[str, tuple[float, float | None]]
"""Each mark's offset from the spawn (its first occurrence) and the process's CPU time then."""


@dataclass
class Lane:
    """One uidt under test: its interpreter and what its runs measured."""

    name: str
    python: str
    walls: list[float] = field(default_factory=list)
    runs: list[Offsets] = field(default_factory=list)


def one_run(origin: Origin, work: Path, dest: Path, python: str) -> tuple[float, Offsets]:
    """One cold activated run: its wall time and its marks."""
    home = UidtHome(work)
    marks = home.path.parent / f"{home.path.name}.marks"
    home.listen(extra_env={ENV: str(marks)}, python=python)
    settle()
    env = {**os.environ, ENV: str(marks)}
    began = time.monotonic()
    subprocess.run(
        uidt_argv(home.path, origin.url, dest, python),
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


def timeline(runs: list[Offsets]) -> list[str]:
    """The table of one lane's marks (median offsets from the spawn, and CPU then)."""
    names: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    for offsets in runs:
        for name, (offset, cpu) in offsets.items():
            names.setdefault(name, []).append(offset)
            if cpu is not None:
                cpus.setdefault(name, []).append(cpu)
    ordered = sorted(names, key=lambda name: statistics.median(names[name]))
    lines = [
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
    return lines


def report(lanes: list[Lane], curls: list[float], loads: list[float]) -> str:
    """Each lane's timeline, then every lane's totals against ``curl -o``, round by round."""
    lines = [
        f"{SIZE / 2**20:g} MiB, {len(curls) or len(lanes[0].walls)} rounds; load average "
        f"{min(loads):.2f}-{max(loads):.2f} during the run",
    ]
    for lane in lanes:
        lines += ["", f"{lane.name}:", "", *timeline(lane.runs)]
    lines.append("")
    if curls:
        lines.append(f"curl -o: median {statistics.median(curls):.3f} s")
    for lane in lanes:
        wall = statistics.median(lane.walls)
        line = f"{lane.name}: median {wall:.3f} s"
        if curls:
            ratios = [c / u for c, u in zip(curls, lane.walls, strict=True)]
            line += (
                f"; speed vs curl -o {statistics.median(curls) / wall:.2f}x at the medians, "
                f"{statistics.median(ratios):.2f}x round by round "
                f"({', '.join(f'{r:.2f}' for r in ratios)})"
            )
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    """Print the timeline of :data:`RUNS` cold activated runs of :data:`SIZE` bytes."""
    if shutil.which("systemd-socket-activate") is None:
        print("systemd-socket-activate is not installed: nothing to measure")
        return
    become_subreaper()
    lanes = [Lane("this tree", sys.executable)]
    base = os.environ.get("UIDT_BENCH_BASE_PYTHON")
    if base:
        lanes.append(Lane(f"base ({base})", base))
    root = Path(os.environ.get("UIDT_BENCH_DIR", "/tmp/uidt-bench"))
    (root / "srv").mkdir(parents=True, exist_ok=True)
    source = source_file(root / "srv", SIZE)  # kept for the next run, as transfer_bench does
    curls: list[float] = []
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="coldstart-", dir=root) as tmp:
        work = Path(tmp)
        dest = work / "download.bin"
        with _origin(source) as origin:
            for number in range(RUNS):
                loads.append(os.getloadavg()[0])
                if shutil.which("curl"):
                    curls.append(curl_once(origin, dest))
                order = lanes if number % 2 == 0 else lanes[::-1]  # alternate who goes first
                for lane in order:
                    wall, offsets = one_run(origin, work, dest, lane.python)
                    lane.walls.append(wall)
                    lane.runs.append(offsets)
                    print(f"  round {number + 1} {lane.name}: {wall:.3f} s", file=sys.stderr)
    print(report(lanes, curls, loads))


if __name__ == "__main__":
    main()
