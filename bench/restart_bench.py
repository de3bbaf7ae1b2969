"""How soon a killed daemon's (or worker's) transfer moves bytes again.

``python -m bench restart_bench``. Every round takes a fresh home: a foreground daemon (``python
-m uidt.daemon --device fake``, as a service manager runs it, without ``--prestart``) and a
persisted ``uidt download`` of a file the loopback test server drips at
:data:`DRIP_BPS`, so that the transfer is mid-way when the harness strikes, once
:data:`KILL_AFTER` bytes have left the server:

- **daemon**: ``kill -9`` the daemon, wait until its worker has noticed and exited, then start
  the daemon again;
- **daemon, at once**: the same without waiting for the orphaned worker (as a service manager
  restarts it);
- **worker**: ``kill -9`` the worker only (the daemon stays; there is no (a));
- **both**: ``kill -9`` the daemon and the worker at once (a power cut without the reboot),
  then start the daemon again;
- **both, 384 MiB partial** (with and without ``--sha256``): the same with a
  :data:`BIG_SIZE` file served at full speed and held (``pause``) once :data:`BIG_KILL_AT` bytes
  have gone, to show what the engine's resume costs with a large part file.

The clock starts when the new daemon is spawned (for **worker**: at the kill), and the table
shows the median of :data:`RUNS` rounds of:

- (a) the new daemon's control socket answers ``GET /v1/ping``;
- (b) the daemon hands the job to the app host (its ``daemon.start_job`` timing mark);
- (c) a request the server received after the kill has sent its first body byte (on
  loopback the bytes reach the part file within a millisecond).

Part (c) is broken down with the timing marks (:mod:`uidt.timing`) the daemon and the worker
write into one file named by ``UIDT_TIMING_MARKS``: the intervals between consecutive marks of
the new processes are medians over the rounds, so they need not add up to (c) exactly.

Environment: ``UIDT_BENCH_RUNS`` (default 5), ``UIDT_BENCH_RESTART_ARGS`` (extra daemon
arguments, e.g. ``--prestart uidt.transfers`` to measure the service unit's command line),
``UIDT_BENCH_RESTART_CLI=1`` (start the daemon as ``uidt daemon start --foreground``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from uidt.testing.httpserver import Faults, ThreadedTransferTestServer
from uidt.timing import ENV as MARKS_ENV
from uidt.timing import read_marks

MiB = 1024 * 1024
RUNS = int(os.environ.get("UIDT_BENCH_RUNS", "5"))
SIZE = 96 * MiB
DRIP_BPS = 6 * MiB
KILL_AFTER = 3 * MiB
PATH = "/restart/bench.bin"
TIMEOUT_S = 30.0
#: The big-partial rows: a file served at full speed, held once this much has gone.
BIG_SIZE = 512 * MiB
BIG_KILL_AT = 384 * MiB
BIG_PATH = "/restart/big.bin"
SCENARIOS = ("daemon", "daemon, at once", "worker", "both")
EXTRA_ARGS = os.environ.get("UIDT_BENCH_RESTART_ARGS", "").split()
#: ``UIDT_BENCH_RESTART_CLI=1``: start the daemon as ``uidt daemon start --foreground`` (the
#: command line in front, as the bad-day harness does) instead of ``python -m uidt.daemon``.
VIA_CLI = os.environ.get("UIDT_BENCH_RESTART_CLI") == "1"
DAEMON = "uidt daemon start --foreground" if VIA_CLI else "uidt.daemon"


def _ping(sock_path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(sock_path))
            sock.sendall(b"GET /v1/ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False


def _poll(check: object, what: str, timeout: float = TIMEOUT_S) -> float:
    """Poll ``check()`` every millisecond until true; the monotonic time it was first true."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.001)  # noqa: TID251 - polling other processes, bounded
    return time.monotonic()


@dataclass
class Round:
    socket_s: float | None = None
    start_job_s: float | None = None
    first_byte_s: float | None = None
    steps: dict[str, float] = field(default_factory=dict)


class Lane:
    """One fresh home with its daemon, for one round."""

    def __init__(self, root: Path, server: ThreadedTransferTestServer) -> None:
        self.home = Path(tempfile.mkdtemp(dir=root))
        self.server = server
        self.marks = self.home / "marks.txt"
        self.env = {**os.environ, MARKS_ENV: str(self.marks)}
        self.daemon: subprocess.Popen[bytes] | None = None

    def start_daemon(self) -> float:
        home = ["--home", str(self.home)]
        if VIA_CLI:
            command = ["uidt", *home, "daemon", "start", "--foreground"]
        else:
            command = ["uidt.daemon", *home]
        argv = [sys.executable, "-m", *command, "--device", "fake"]
        began = time.monotonic()
        self.daemon = subprocess.Popen(
            [*argv, *EXTRA_ARGS],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return began

    def uidt(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "uidt", "--home", str(self.home), *args],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=TIMEOUT_S,
        )

    def worker(self) -> psutil.Process | None:
        assert self.daemon is not None
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.daemon.pid).children(recursive=True):
                if "uidt.host.worker" in " ".join(child.cmdline()):
                    return child
        return None

    def kill_daemon(self) -> None:
        assert self.daemon is not None
        self.daemon.send_signal(signal.SIGKILL)
        self.daemon.wait()

    def stop(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.terminate()
            try:
                self.daemon.wait(TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()


def _steps(marks: list[tuple[float, int, str]], since: float, pids: set[int]) -> dict[str, float]:
    """Seconds between consecutive first marks after ``since`` of the processes ``pids``."""
    firsts: dict[str, float] = {}
    for stamp, pid, name in marks:
        if stamp >= since and pid in pids and name not in firsts:
            firsts[name] = stamp
    ordered = sorted(firsts.items(), key=lambda item: item[1])
    steps: dict[str, float] = {}
    previous = ("exec", since)
    for name, stamp in ordered:
        steps[f"{previous[0]} → {name}"] = stamp - previous[1]
        previous = (name, stamp)
    return steps


def _new_body_flows(server: ThreadedTransferTestServer, path: str, known: int) -> bool:
    """Whether a request for ``path`` after the first ``known`` ones has had body bytes."""
    return any(r.path == path and r.body_bytes > 0 for r in server.server.requests[known:])


def one_round(
    root: Path,
    server: ThreadedTransferTestServer,
    scenario: str,
    *,
    path: str = PATH,
    kill_after: int = KILL_AFTER,
    download_args: tuple[str, ...] = (),
    paused: bool = False,
) -> Round:
    """One round of ``scenario`` on a fresh home.

    ``paused``: the server holds the body of ``path`` once ``kill_after`` bytes have gone
    (``pause``) and lets it go again when the new daemon is spawned, for a file served at full
    speed (the big-partial rows).
    """
    lane = Lane(root, server)
    try:
        lane.start_daemon()
        _poll(lambda: _ping(lane.home / "uidt.sock"), "the first daemon")
        before = server.bytes_sent(path)
        out = str(lane.home / "out.bin")
        lane.uidt("download", server.url(path), "-o", out, *download_args)
        server.wait_bytes_sent(path, before + kill_after, TIMEOUT_S * 4)
        if paused:
            server.pause(path)
        old = lane.worker()
        if old is None:
            raise RuntimeError("no worker runs the download")
        known = len(server.server.requests)  # a request after these is the resumed run's
        if scenario == "worker":
            old.kill()
            began = time.monotonic()
            old.wait(TIMEOUT_S)
        else:
            lane.kill_daemon()
            if scenario == "both":
                with contextlib.suppress(psutil.Error):
                    old.kill()
            if scenario != "daemon, at once":
                with contextlib.suppress(psutil.Error):
                    old.wait(TIMEOUT_S)  # the orphan sees its socket close and ends its run
            began = lane.start_daemon()
        if paused:
            server.unpause(path)
        result = Round()
        if scenario != "worker":
            result.socket_s = _poll(lambda: _ping(lane.home / "uidt.sock"), "socket") - began
        first_byte = _poll(lambda: _new_body_flows(server, path, known), "the first new byte")
        result.first_byte_s = first_byte - began
        assert lane.daemon is not None
        pids = {lane.daemon.pid}
        new_worker = lane.worker()
        if new_worker is not None:
            pids.add(new_worker.pid)
        marks = read_marks(lane.marks)
        starts = [s for s, pid, name in marks if name == "daemon.start_job" and s >= began]
        if starts:
            result.start_job_s = starts[0] - began
        result.steps = _steps([m for m in marks if m[0] <= first_byte], began, pids)
        if paused:  # let it finish: a request cut off mid-body would hold up the server's stop
            _poll(Path(out).exists, "the resumed download to finish", TIMEOUT_S * 4)
            if Path(out).stat().st_size != BIG_SIZE:
                raise RuntimeError("the resumed download is not the served file")
        return result
    finally:
        lane.stop()


def _median(values: list[float | None]) -> str:
    present = [v for v in values if v is not None]
    return f"{statistics.median(present) * 1000:.0f}" if present else "-"


def _big_file(folder: Path) -> tuple[Path, str]:
    """A :data:`BIG_SIZE` file of random bytes on disk, and its SHA-256."""
    path = folder / "big.bin"
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(BIG_SIZE // (16 * MiB)):
            block = os.urandom(16 * MiB)
            digest.update(block)
            out.write(block)
    return path, digest.hexdigest()


def main() -> None:
    rounds: dict[str, list[Round]] = {name: [] for name in SCENARIOS}
    with (
        tempfile.TemporaryDirectory(prefix="uidt-restart-") as tmp,
        ThreadedTransferTestServer() as server,
    ):
        server.add_file(PATH, os.urandom(SIZE))
        server.set_faults(PATH, Faults(drip_bps=DRIP_BPS))
        big, digest = _big_file(Path(tmp))
        server.add_path(BIG_PATH, big)
        big_rows = {
            f"both, {BIG_KILL_AT // MiB} MiB partial": (),
            f"both, {BIG_KILL_AT // MiB} MiB partial, --sha256": ("--sha256", digest),
        }
        for name in big_rows:
            rounds[name] = []
        for _ in range(RUNS):
            for scenario in SCENARIOS:  # round-robin: the machine's drift hits each alike
                rounds[scenario].append(one_round(Path(tmp), server, scenario))
            for name, args in big_rows.items():
                rounds[name].append(
                    one_round(
                        Path(tmp),
                        server,
                        "both",
                        path=BIG_PATH,
                        kill_after=BIG_KILL_AT,
                        download_args=args,
                        paused=True,
                    )
                )
    extra = f" {' '.join(EXTRA_ARGS)}" if EXTRA_ARGS else ""
    print(f"restart after kill -9 (daemon: python -m {DAEMON} --device fake{extra}), ", end="")
    print(f"median of {RUNS}, ms from the new daemon's spawn (worker: from the kill)\n")
    print("| killed | (a) socket answers | (b) job handed to the host | (c) first new byte |")
    print("|---|---|---|---|")
    for name, results in rounds.items():
        print(
            f"| {name} | {_median([r.socket_s for r in results])} "
            f"| {_median([r.start_job_s for r in results])} "
            f"| {_median([r.first_byte_s for r in results])} |"
        )
    for name, results in rounds.items():
        print(f"\n{name}: steps of (c), median ms (rounds with the step)\n")
        names = list(dict.fromkeys(step for r in results for step in r.steps))
        for step in names:
            values = [r.steps[step] for r in results if step in r.steps]
            print(f"- {step}: {_median(list(values))} ({len(values)})")
        raw = ", ".join(f"{(r.first_byte_s or 0) * 1000:.0f}" for r in results)
        print(f"- (c) per round: {raw}")


if __name__ == "__main__":
    main()
