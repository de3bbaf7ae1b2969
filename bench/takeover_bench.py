"""Fleet takeover: ``kill -9`` the daemon downloading, another host finishes the job.

``python -m bench takeover_bench``. A throwaway PostgreSQL cluster (``uidt.testing.postgres``)
holds one database per trial; three daemons (``python -m uidt.daemon --device fake``, homes of
their own, host ids ``h0``..``h2``, ``lease_ms`` :data:`LEASE_MS`) share it. Each trial schedules
a persisted ``uidt download`` on ``h0`` of a file the loopback test server drips at
:data:`DRIP_BPS`, waits for :data:`KILL_AFTER` bytes and ``kill -9``s ``h0`` — only the daemon:
its worker is left to notice on its own, as an orphaned worker would, so the check below also
covers a worker outliving its daemon — then measures from the kill until a request made after it
sends its first body byte (the takeover: the lease must run out first, then the next claim of
another host) and until the file is complete. Per trial it checks the new holder resumed with a
``Range`` request (the part file is on storage both see), the file is byte-exact, the lease
moved to another host with a higher generation (the stale ``h0`` can no longer write it), the
takeover came within the lease + :data:`TAKEOVER_SLACK_S`, and — from the ``fleet-run`` lines
every worker logs when it starts and stops writing the file, with its host and lease generation
(:mod:`uidt.testing.fleetruns`; wall-clock times, comparable since the hosts share one machine)
— that no two hosts' writes ever overlapped.

Environment: ``UIDT_BENCH_RUNS`` (trials, default 5; the issue's figure is 20).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import psycopg

from uidt.testing.fleetruns import RunSpan, overlaps, read_runs
from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.testing.postgres import ClusterUnavailable, TemporaryCluster

MiB = 1024 * 1024
RUNS = int(os.environ.get("UIDT_BENCH_RUNS", "5"))
SIZE = 12 * MiB
DRIP_BPS = 4 * MiB
KILL_AFTER = 2 * MiB
LEASE_MS = 2_000
PATH = "/takeover/bench.bin"
TIMEOUT_S = 60.0
HOSTS = 3
#: The issue's bound: takeover within the lease expiry + 2 s.
TAKEOVER_SLACK_S = 2.0


def _poll(check: object, what: str, timeout: float = TIMEOUT_S) -> float:
    """Poll ``check()`` every few milliseconds until true; the monotonic time it was true."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.005)  # noqa: TID251 - polling other processes, bounded
    return time.monotonic()


class Host:
    """One daemon of the fleet, in a home of its own."""

    def __init__(self, root: Path, index: int, url: str) -> None:
        self.name = f"h{index}"
        self.home = root / self.name
        self.home.mkdir()
        command = [sys.executable, "-m", "uidt.daemon", "--home", str(self.home)]
        command += ["--device", "fake", "--store", url]
        command += ["--set", f"host_id={self.name}", "--set", f"lease_ms={LEASE_MS}"]
        with (self.home / "daemon.out").open("ab") as out:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
            )

    def answers(self) -> bool:
        return (self.home / "uidt.sock").exists()

    def uidt(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "uidt", "--home", str(self.home), *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"uidt {' '.join(args)}: {done.stderr.strip()}")

    def kill9(self) -> tuple[float, list[psutil.Process]]:
        """``kill -9`` the daemon alone; the monotonic time of the kill and its workers (left
        running: they notice the closed socket on their own)."""
        workers = psutil.Process(self.process.pid).children(recursive=True)
        killed = time.monotonic()
        self.process.kill()
        self.process.wait(TIMEOUT_S)
        return killed, workers

    def worker_logs(self) -> list[Path]:
        return sorted((self.home / "logs").glob("worker-*.log"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _lease(url: str) -> tuple[str | None, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT lease_owner, lease_generation FROM uidt_jobs").fetchone()
    if row is None:
        raise RuntimeError("no job in the store")
    return row[0], int(row[1])


def one_trial(
    root: Path, url: str, server: ThreadedTransferTestServer, sha: str
) -> tuple[float, float, str, list[RunSpan]]:
    """Seconds from the kill to the first new byte and to the complete file; who finished;
    the runs that wrote the file (checked never to overlap)."""
    hosts = [Host(root, n, url) for n in range(HOSTS)]
    orphans: list[psutil.Process] = []
    try:
        for host in hosts:
            _poll(host.answers, f"{host.name} to start")
        dest = root / "out.bin"
        before = server.bytes_sent(PATH)
        hosts[0].uidt("download", server.url(PATH), "-o", str(dest), "--sha256", sha)
        _poll(lambda: server.bytes_sent(PATH) >= before + KILL_AFTER, "bytes to flow")
        owner, generation = _lease(url)
        if owner != "h0":
            raise RuntimeError(f"the job is held by {owner}, not h0")
        known = len(server.server.requests)
        killed, orphans = hosts[0].kill9()
        flows = _poll(
            lambda: any(r.path == PATH and r.body_bytes for r in server.server.requests[known:]),
            "another host to take the download over",
        )
        if flows - killed > LEASE_MS / 1000 + TAKEOVER_SLACK_S:
            raise RuntimeError(f"the takeover took {flows - killed:.2f} s")
        if not any(r.path == PATH and r.range for r in server.server.requests[known:]):
            raise RuntimeError("the new holder started the download again from zero")
        taker, after = _lease(url)  # the new run is under way: its holder is in the row
        if taker in (None, "h0") or after <= generation:
            raise RuntimeError(f"after the takeover the lease is {taker} / {after}")
        done = _poll(dest.exists, "the download to complete")
        if hashlib.sha256(dest.read_bytes()).hexdigest() != sha:
            raise RuntimeError("the completed file is not the served one")
        for orphan in orphans:
            with contextlib.suppress(psutil.Error):
                orphan.wait(TIMEOUT_S)
        # the end of a run's writes is logged once its part file is closed, just after the rename
        _poll(lambda: all(r.end is not None for r in _runs(hosts)), "the runs to log their end")
        runs = _runs(hosts)
        _check_runs(runs, generation)
        return flows - killed, done - killed, str(taker), runs
    finally:
        for host in hosts:
            host.stop()


def _runs(hosts: list[Host]) -> list[RunSpan]:
    return read_runs(log for host in hosts for log in host.worker_logs())


def _gap(runs: list[RunSpan]) -> float:
    """Seconds between the end of the first run's writes and the start of the second's."""
    first, second = runs[0], runs[1]
    return second.start - (first.end if first.end is not None else second.start)


def _check_runs(runs: list[RunSpan], killed_generation: int) -> None:
    """h0's run under the killed lease, then the new holder's; never two at once."""
    if not runs or (runs[0].host, runs[0].generation) != ("h0", killed_generation):
        raise RuntimeError(f"the first run to write is not h0's: {runs}")
    if runs[-1].outcome != "published" or runs[-1].host == "h0":
        raise RuntimeError(f"the last run is not another host's publishing one: {runs}")
    clash = overlaps(runs)
    if clash:
        raise RuntimeError(f"two runs wrote the file at once: {clash}")


def main() -> None:
    cluster = TemporaryCluster()
    try:
        cluster.start()
    except ClusterUnavailable as exc:
        print(f"takeover_bench skipped: no PostgreSQL here ({exc})", flush=True)
        return
    data = os.urandom(SIZE)
    sha = hashlib.sha256(data).hexdigest()
    first_bytes: list[float] = []
    completes: list[float] = []
    finishers: list[str] = []
    runs: list[RunSpan] = []
    try:
        with ThreadedTransferTestServer() as server:
            server.add_file(PATH, data)
            server.throttle(PATH, DRIP_BPS)
            for trial in range(RUNS):
                with tempfile.TemporaryDirectory(prefix="uidt-takeover-") as folder:
                    first, complete, finisher, wrote = one_trial(
                        Path(folder), cluster.new_database(), server, sha
                    )
                runs.extend(wrote)
                first_bytes.append(first)
                completes.append(complete)
                finishers.append(finisher)
                print(
                    f"trial {trial + 1}: first new byte {first:.2f} s after the kill, "
                    f"complete {complete:.2f} s, byte-exact, taken by {finisher}, "
                    f"{len(wrote)} runs wrote the file, never two at once (h0's ended "
                    f"{_gap(wrote):.2f} s before the next began: {wrote[0].outcome})",
                    flush=True,
                )
    finally:
        cluster.stop()
    print(
        f"{RUNS} trials, lease {LEASE_MS / 1000:.0f} s: takeover (kill -> first new byte) median "
        f"{statistics.median(first_bytes):.2f} s, max {max(first_bytes):.2f} s; complete median "
        f"{statistics.median(completes):.2f} s; all byte-exact; lease generation raised each time; "
        f"taken by {', '.join(sorted(set(finishers)))}; within lease + {TAKEOVER_SLACK_S:.0f} s "
        f"every time; {len(runs)} runs recorded, none overlapping",
        flush=True,
    )


if __name__ == "__main__":
    main()
