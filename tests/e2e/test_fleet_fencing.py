"""Fencing the worker of a host that lost its lease (docs/fleet.md).

Two real daemons share a store. ``kill -STOP`` freezes the daemon downloading — its worker runs
on, writing the part file — until another host claims the expired lease and takes the download
over; the frozen host's worker must stop writing once the new holder's fence is up, and the
frozen daemon, woken again, must write nothing stale. The ``fleet-run`` lines of both hosts'
worker logs show who wrote the file when: the spans never overlap.
"""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import psycopg
import pytest

from uidt.testing.fleetruns import overlaps, read_runs
from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.fence import fence_path

from .conftest import Daemon, wait_for

pytestmark = pytest.mark.postgres

PATH = "/fenced.bin"
MiB = 1024 * 1024


def _leases(url: str) -> list[tuple[str | None, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT lease_owner, lease_generation FROM uidt_jobs").fetchall()
    return [(row[0], int(row[1])) for row in rows]


def _worker_logs(*homes: Path) -> list[Path]:
    return [log for home in homes for log in sorted((home / "logs").glob("worker-*.log"))]


@pytest.mark.slow  # about 8 s: a lease of 2 s to run out under a frozen daemon, a download
def test_a_frozen_hosts_worker_stops_writing_once_another_host_took_the_download_over(
    tmp_path: Path, postgres_url: str
) -> None:
    data = os.urandom(4 * MiB + 7)
    sha = hashlib.sha256(data).hexdigest()
    dest = tmp_path / "shared" / "fenced.bin"
    dest.parent.mkdir()
    homes = [tmp_path / "a", tmp_path / "b"]
    for home in homes:
        home.mkdir()
    store = ("--store", postgres_url)
    host_a = Daemon(homes[0], {"lease_ms": "2s", "host_id": "host-a"}, extra_args=store)
    host_b = Daemon(homes[1], {"lease_ms": "2s", "host_id": "host-b"}, extra_args=store)
    with ThreadedTransferTestServer() as server:
        server.add_file(PATH, data)
        server.throttle(PATH, 512 * 1024)
        frozen = False
        try:
            host_a.start()
            host_b.start()
            scheduled = host_a.uidt("download", server.url(PATH), "-o", str(dest), "--sha256", sha)
            assert scheduled.returncode == 0, scheduled.stderr
            wait_for(lambda: server.bytes_sent(PATH) > 256 * 1024, what="host-a's worker to write")
            ((owner, generation),) = _leases(postgres_url)
            assert owner == "host-a"
            os.kill(host_a.pid, signal.SIGSTOP)  # the daemon freezes; its worker runs on
            frozen = True
            wait_for(
                lambda: any(r.host == "host-b" for r in read_runs(_worker_logs(*homes))),
                timeout=30,
                what="host-b to take the download over and start writing",
            )
            server.throttle(PATH, None)
            wait_for(dest.exists, timeout=30, what="host-b to complete the download")
            os.kill(host_a.pid, signal.SIGCONT)
            frozen = False
            wait_for(
                lambda: (
                    "lost its lease" in host_a.output()
                    or "lost its lease" in (homes[0] / "logs" / "daemon.log").read_text()
                ),
                what="host-a, woken, to give the job up",
            )
            assert dest.read_bytes() == data
            assert not fence_path(dest).exists()
            wait_for(
                lambda: all(r.end is not None for r in read_runs(_worker_logs(*homes))),
                what="both runs to log the end of their writes",
            )
            runs = read_runs(_worker_logs(*homes))
            assert [(r.host, r.outcome) for r in runs] == [
                ("host-a", "FencedOffError"),
                ("host-b", "published"),
            ], runs
            assert runs[0].generation == generation < runs[1].generation
            assert overlaps(runs) == []  # host-a's worker stopped before host-b's wrote
            # the woken host wrote nothing over the new holder's record (the job ended there)
            assert _leases(postgres_url) in ([], [("host-b", runs[1].generation)])
            resumed = [r for r in server.server.requests if r.path == PATH and r.range]
            assert resumed, "host-b started the download again from zero"
        finally:
            if frozen:
                os.kill(host_a.pid, signal.SIGCONT)
            host_a.stop()
            host_b.stop()
