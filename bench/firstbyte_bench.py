"""From ``uidt download URL -o DEST --network unmetered --wait`` to its first byte, stage by stage.

``python -m bench firstbyte_bench``. The command the bad-day harness runs, against the project's
loopback test server (:class:`~uidt.testing.httpserver.ThreadedTransferTestServer`, a 1 MiB
file per run under its own path), timed from the command's spawn to the moment its request
reaches the server (on loopback the first body byte follows within a millisecond). Rows:

- **warm**: the daemon serves and its transfers worker is up (a download ended a moment ago);
- **fresh daemon**: a daemon of a fresh home was just started and answers its socket (as the
  bad-day harness starts it, and as a service manager does), no job ran yet;
- **fresh daemon, no warm worker**: the same with ``--set warm_worker=false``: the worker
  starts when the job is bound (every daemon before the ``warm_worker`` setting, and a daemon
  whose warm worker has idled out);
- **autostart**: no daemon: the command starts one (with the transfers worker prestarted);
- **curl**: ``curl -sS -o DEST URL`` (when installed), the same file, for the ratio.

Each row is the median of :data:`RUNS` runs (alternating rows, so that the machine's drift hits
each alike). The stages come from the timing marks (:mod:`uidt.timing`) every uidt process
of the run writes into one file (``UIDT_TIMING_MARKS``): the interval from the spawn to each
stage's first mark, median over the runs.

Environment: ``UIDT_BENCH_RUNS`` (default 11), ``UIDT_BENCH_DAEMON_ARGS`` (extra daemon
arguments).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from uidt.testing.httpserver import RequestRecord, ThreadedTransferTestServer
from uidt.timing import ENV as MARKS_ENV
from uidt.timing import read_marks

RUNS = int(os.environ.get("UIDT_BENCH_RUNS", "11"))
SIZE = 1024 * 1024
TIMEOUT_S = 30.0
DAEMON_ARGS = os.environ.get("UIDT_BENCH_DAEMON_ARGS", "").split()
ROWS = ("warm", "fresh daemon", "fresh daemon, no warm worker", "autostart")
#: The stages shown, in the order of the start path (a mark a run lacks is left out of it).
STAGES = (
    "cli.main",
    "cli.early_start",
    "cli.imported",
    "cli.submit",
    "daemon.run",
    "daemon.prestarted",
    "daemon.serving",
    "daemon.schedule",
    "daemon.bind",
    "host.launch",
    "worker.main",
    "worker.hello",
    "cli.scheduled",
    "daemon.start_job",
    "worker.start_job",
    "worker.service_ready",
    "download.run",
    "download.attempt",
    "download.request_sent",
)


def _ping(sock_path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(sock_path))
            sock.sendall(b"GET /v1/ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False


def _poll(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.002)  # noqa: TID251 - polling another process, bounded


@dataclass
class Run:
    request_s: float
    stages: dict[str, float] = field(default_factory=dict)


class Arrivals:
    """The monotonic time each request path first reached the server."""

    def __init__(self, server: ThreadedTransferTestServer) -> None:
        self.times: dict[str, float] = {}
        server.server.on_request = self._seen

    def _seen(self, record: RequestRecord) -> None:
        self.times.setdefault(record.path, time.monotonic())


class Home:
    """A home with its marks file; the daemon it runs, if any."""

    def __init__(self, root: Path) -> None:
        self.path = Path(tempfile.mkdtemp(dir=root))
        self.marks = self.path / "marks.txt"
        self.env = {**os.environ, MARKS_ENV: str(self.marks)}
        self.daemon: subprocess.Popen[bytes] | None = None

    def start_daemon(self, *extra: str) -> None:
        argv = [sys.executable, "-m", "uidt.daemon", "--home", str(self.path), "--device", "fake"]
        self.daemon = subprocess.Popen(
            [*argv, *DAEMON_ARGS, *extra],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _poll(lambda: _ping(self.path / "uidt.sock"), "the daemon's socket")

    def download(self, url: str, dest: Path) -> float:
        """Run the bad day's command; the monotonic time it was spawned."""
        argv = [sys.executable, "-m", "uidt", "--home", str(self.path), "download", url]
        began = time.monotonic()
        subprocess.run(
            [*argv, "-o", str(dest), "--network", "unmetered", "--wait"],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=TIMEOUT_S,
        )
        return began

    def stop(self) -> None:
        """Stop the home's daemon (also one the command autostarted) and wait until it is gone,
        with its workers, so that its shutdown does not weigh on the next run."""
        pid_file = self.path / "daemon.pid"
        pid = int(pid_file.read_text()) if pid_file.exists() else None
        family: list[psutil.Process] = []
        if pid is not None:
            with contextlib.suppress(psutil.Error):
                daemon = psutil.Process(pid)
                family = [daemon, *daemon.children(recursive=True)]
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            subprocess.run(
                [sys.executable, "-m", "uidt", "--home", str(self.path), "daemon", "stop"],
                env=self.env,
                capture_output=True,
                timeout=TIMEOUT_S,
                check=False,
            )
        if self.daemon is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.daemon.wait(TIMEOUT_S)
            if self.daemon.poll() is None:
                self.daemon.kill()
                self.daemon.wait()
        psutil.wait_procs(family, timeout=TIMEOUT_S)


class Bench:
    def __init__(self, root: Path, server: ThreadedTransferTestServer) -> None:
        self.root = root
        self.server = server
        self.arrivals = Arrivals(server)
        self.count = 0
        self.warm: Home | None = None

    def new_path(self) -> str:
        self.count += 1
        path = f"/firstbyte/{self.count}.bin"
        self.server.add_file(path, os.urandom(SIZE))
        return path

    def timed(self, home: Home, began: float, path: str) -> Run:
        run = Run(self.arrivals.times[path] - began)
        for stamp, _, name in read_marks(home.marks):
            if stamp >= began and name in STAGES and name not in run.stages:
                run.stages[name] = stamp - began
        return run

    def one(self, row: str) -> Run:
        path = self.new_path()
        if row == "warm":
            if self.warm is None:
                self.warm = Home(self.root)
                self.warm.start_daemon()
                self.warm.download(self.server.url(self.new_path()), self.warm.path / "w.bin")
            home = self.warm
            began = home.download(self.server.url(path), home.path / f"{self.count}.bin")
            return self.timed(home, began, path)
        home = Home(self.root)
        try:
            if row == "fresh daemon":
                home.start_daemon()
            elif row == "fresh daemon, no warm worker":
                home.start_daemon("--set", "warm_worker=false")
            began = home.download(self.server.url(path), home.path / "out.bin")
            return self.timed(home, began, path)
        finally:
            home.stop()

    def curl(self, curl: str) -> float:
        path = self.new_path()
        dest = self.root / "curl.bin"
        began = time.monotonic()
        subprocess.run([curl, "-sS", "-o", str(dest), self.server.url(path)], check=True)
        return self.arrivals.times[path] - began

    def close(self) -> None:
        if self.warm is not None:
            self.warm.stop()


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f}" if values else "-"


def main() -> None:
    curl = shutil.which("curl")
    runs: dict[str, list[Run]] = {row: [] for row in ROWS}
    curl_s: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="uidt-firstbyte-") as tmp,
        ThreadedTransferTestServer() as server,
    ):
        bench = Bench(Path(tmp), server)
        try:
            for _ in range(RUNS):
                for row in ROWS:
                    runs[row].append(bench.one(row))
                if curl is not None:
                    curl_s.append(bench.curl(curl))
        finally:
            bench.close()
    curl_ms = statistics.median(curl_s) * 1000 if curl_s else None
    print(f"command → request at the server, median of {RUNS}, ms from the command's spawn\n")
    print("| row | ms | ÷ curl |")
    print("|---|---|---|")
    for row, results in runs.items():
        median = statistics.median(r.request_s for r in results) * 1000
        ratio = f"{median / curl_ms:.1f}" if curl_ms else "-"
        print(f"| {row} | {median:.0f} | {ratio} |")
    if curl_ms is not None:
        print(f"| curl | {curl_ms:.0f} | 1.0 |")
    print("\nstages: ms from the spawn to the stage's first mark (median; runs with the mark)\n")
    print(f"| stage | {' | '.join(ROWS)} |")
    print(f"|---|{'---|' * len(ROWS)}")
    for stage in STAGES:
        cells = []
        for row in ROWS:
            values = [r.stages[stage] for r in runs[row] if stage in r.stages]
            cells.append(f"{_ms(values)} ({len(values)})" if values else "-")
        if any(c != "-" for c in cells):
            print(f"| {stage} | {' | '.join(cells)} |")
    print(
        f"| request at the server | {' | '.join(_ms([r.request_s for r in runs[row]]) for row in ROWS)} |"
    )


if __name__ == "__main__":
    main()
