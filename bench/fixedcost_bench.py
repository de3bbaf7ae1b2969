"""What ``uidt download URL -o F --wait`` costs around the copy, stage by stage (and an A/B).

``python -m bench fixedcost_bench``. A warm daemon (its transfer worker up) and nginx on loopback
serving one generated file (plain HTTP, or TLS with ``UIDT_BENCH_TLS=1``: the ``https_bench``
CA and certificate, ``--cacert``); the command's stderr goes into a pipe (no live bar, as in
``https_bench``). Every uidt process of a run writes its timing marks with its CPU time
(:mod:`uidt.timing`), so one table says where each millisecond goes from the spawn to the first
byte (``download.request_sent``) and from the last byte (``download.fetched``) to the exit, with
the CPU seconds of the command (``wait4``) and of the daemon with its worker (``/proc``).

``UIDT_BENCH_BASE_SRC=DIR`` adds a lane: another tree's ``src`` (e.g. an export of an earlier
commit) served through ``PYTHONPATH``, with a daemon of its own, the two lanes alternating run by
run (the order swapped every round) so that a shared machine's drift hits both alike. Serve both
trees from the same disk (this lane is served from its ``src`` through ``PYTHONPATH`` too).

Environment: ``UIDT_BENCH_SIZE`` (default ``1M``), ``UIDT_BENCH_RUNS`` (default 15),
``UIDT_BENCH_TLS``, ``UIDT_BENCH_BASE_SRC``, ``UIDT_BENCH_DIR`` (default ``/tmp/uidt-bench``).
Skipped without nginx (and, for TLS, openssl).
"""

from __future__ import annotations

import compileall
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uidt
from bench.https_bench import make_ca, nginx_https
from bench.transfer_bench import Origin, nginx_origin, parse_size, source_file
from bench.uidthome import UidtHome, become_subreaper
from uidt.timing import ENV as MARKS_ENV
from uidt.timing import read_cpu_marks

#: The marks shown, in the order of the path (a lane's runs without one leave it blank).
STAGES = (
    "cli.main",
    "cli.early_start",
    "cli.imported",
    "cli.submit",
    "daemon.schedule",
    "download.request_sent",
    "download.fetched",
    "download.published",
    "worker.job_finished",
    "host.job_finished",
    "cli.end_seen",
    "cli.final_notification",
)
#: The command's own marks, whose CPU time is shown too.
COMMAND_MARKS = ("cli.main", "cli.early_start", "cli.imported", "cli.submit", "cli.end_seen")


@dataclass
class Lane:
    """One tree: its ``src``, its daemon's home, what its runs measured."""

    name: str
    src: Path
    home: UidtHome
    at: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cpu_at: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cpu: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def env(self, marks: Path) -> dict[str, str]:
        env = {**os.environ, "PYTHONPATH": str(self.src), MARKS_ENV: str(marks)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env


def start_daemon(lane: Lane, marks: Path) -> None:
    """The lane's daemon (``uidt daemon`` returns once it answers), with its worker warm."""
    subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(lane.home.path), "daemon"],
        check=True,
        env=lane.env(marks),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_once(lane: Lane, url: str, dest: Path, extra: list[str], marks: Path) -> None:
    """One ``download --wait``; its marks, CPU and wall time go into the lane."""
    marks.write_text("")
    with contextlib.suppress(FileNotFoundError):
        dest.unlink()
    os.sync()  # untimed: no run pays for the write-back of the one before
    argv = [sys.executable, "-m", "uidt", "--home", str(lane.home.path), "download", url]
    argv += ["-o", str(dest), "--wait", *extra]
    served_before = lane.home.cpu_seconds()
    start = time.monotonic()
    process = subprocess.Popen(
        argv, env=lane.env(marks), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    end = time.monotonic()
    assert process.stderr is not None
    if status != 0:
        raise RuntimeError(f"{lane.name}: {process.stderr.read().decode(errors='replace')}")
    process.stderr.close()
    lane.at["exit"].append((end - start) * 1000)
    seen: set[str] = set()
    for found in read_cpu_marks(marks):
        if found.name in seen:
            continue
        seen.add(found.name)
        lane.at[found.name].append((found.stamp - start) * 1000)
        if found.name in COMMAND_MARKS and found.cpu is not None:
            lane.cpu_at[found.name].append(found.cpu * 1000)
    lane.cpu["command"].append(usage.ru_utime + usage.ru_stime)
    lane.cpu["daemon and worker"].append(lane.home.cpu_seconds() - served_before)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"


def report(lanes: list[Lane], title: str) -> str:
    """The Markdown tables: ms from the spawn per mark, the command's CPU, CPU per run."""
    head = "| " + " | ".join(lane.name for lane in lanes) + " |"
    rule = "|---" * (len(lanes) + 1) + "|"
    lines = [title, "", f"| ms from the spawn (median) {head}", rule]
    for stage in (*STAGES, "exit"):
        cells = [_median(lane.at[stage]) for lane in lanes]
        lines.append(f"| `{stage}` | " + " | ".join(cells) + " |")
    gaps = [
        [e - f for e, f in zip(lane.at["exit"], lane.at["download.fetched"], strict=False)]
        for lane in lanes
    ]
    lines.append("| last byte → exit | " + " | ".join(_median(g) for g in gaps) + " |")
    lines += ["", f"| the command's CPU ms at its marks {head}", rule]
    for name in COMMAND_MARKS:
        cells = [_median(lane.cpu_at[name]) for lane in lanes]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    lines += ["", f"| CPU s per run (median) {head}", rule]
    for what in ("command", "daemon and worker"):
        cells = [f"{statistics.median(lane.cpu[what]):.3f}" for lane in lanes]
        lines.append(f"| {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@contextlib.contextmanager
def serving(source: Path, tls: bool) -> Iterator[tuple[Origin | None, list[str]]]:
    """nginx serving ``source`` (plain or TLS), and the extra arguments the command needs."""
    if not tls:
        with nginx_origin(source) as plain:
            yield plain, []
        return
    with tempfile.TemporaryDirectory(prefix="uidt-bench-ca-") as tmp:
        ca, cert, key = make_ca(Path(tmp))
        with nginx_https(source, cert, key) as secure:
            yield secure, ["--cacert", str(ca)]


def main() -> None:
    """Run the benchmark and print its tables."""
    tls = os.environ.get("UIDT_BENCH_TLS") == "1"
    if shutil.which("nginx") is None or (tls and shutil.which("openssl") is None):
        print("nginx (or openssl for TLS) is not installed: fixed-cost benchmark skipped")
        return
    size = parse_size(os.environ.get("UIDT_BENCH_SIZE", "1M"))
    runs = int(os.environ.get("UIDT_BENCH_RUNS", "15"))
    work = Path(os.environ.get("UIDT_BENCH_DIR", "/tmp/uidt-bench"))
    (work / "srv").mkdir(parents=True, exist_ok=True)
    source = source_file(work / "srv", size)
    become_subreaper()
    trees = {"this tree": Path(uidt.__file__).parents[1]}
    base = os.environ.get("UIDT_BENCH_BASE_SRC")
    if base:
        trees = {"base": Path(base), **trees}
    for src in trees.values():
        compileall.compile_dir(str(src / "uidt"), quiet=1)
    with serving(source, tls) as (origin, extra), contextlib.ExitStack() as stack:
        assert origin is not None
        marks = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "marks.txt"
        lanes = []
        for name, src in trees.items():
            lane = Lane(name, src, UidtHome(work))
            stack.callback(lane.home.stop)
            start_daemon(lane, marks)
            lanes.append(lane)
        load_start = os.getloadavg()[0]
        for round_number in range(runs):
            for lane in lanes if round_number % 2 == 0 else lanes[::-1]:
                run_once(lane, origin.url, work / "fixedcost.bin", extra, marks)
        title = (
            f"`uidt download --wait`, warm, {origin.name}, {size} bytes, {runs} alternating "
            f"runs, load average {load_start:.1f} → {os.getloadavg()[0]:.1f}"
        )
        print(report(lanes, title))
    with contextlib.suppress(FileNotFoundError):
        (work / "fixedcost.bin").unlink()


if __name__ == "__main__":
    main()
