"""The first store call of a partition (packets dropped: nothing refuses, nothing answers) fails
within about a heartbeat period, not after the 10 s connect timeout (docs/fleet.md).

The store runs in a child process inside a network namespace of its own
(:mod:`uidt.testing.partition`) and reaches PostgreSQL over TCP through a veth pair; the test
takes the link down and times the child's next ``put_job``. Skipped with one line where network
namespaces or PostgreSQL are not available; the namespace and the pair are removed whatever
happens.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from uidt.testing.partition import HostLane, namespaces_permitted
from uidt.testing.postgres import ClusterUnavailable, TemporaryCluster

pytestmark = pytest.mark.postgres

LEASE_MS = 3_000  # a heartbeat period of 1 s

CHILD = """
import os, sys, time
from uidt.store.postgres import PostgresJobStore
from uidt.testing.store_contract import make_record

store = PostgresJobStore(sys.argv[1], host_id="host-a", lease_ms=int(sys.argv[2]))
store.put_job(make_record(job_id=1))
print("ready", flush=True)
sys.stdin.readline()
began = time.monotonic()
try:
    store.put_job(make_record(job_id=2))
    outcome = "written"
except Exception as exc:
    outcome = type(exc).__name__ + ": " + (str(exc).splitlines() or [""])[0]
print(f"{time.monotonic() - began:.2f} {outcome}", flush=True)
os._exit(0)  # closing the pool would wait on the cut link
"""


def _line(child: subprocess.Popen[str], timeout_s: float) -> str:
    """The child's next line, waited for at most ``timeout_s`` (``""`` if none came)."""
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(child.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout_s)
    return got[0].strip() if got else ""


@pytest.mark.slow  # a few seconds: a cluster of its own and a namespace
def test_the_first_write_of_a_partition_fails_within_about_a_heartbeat_period() -> None:
    if (why := namespaces_permitted()) is not None:
        pytest.skip(why)
    lane = HostLane()
    cluster = TemporaryCluster()
    child: subprocess.Popen[str] | None = None
    try:
        lane.create()
        try:
            cluster.start(tcp_address=lane.root_ip)
        except ClusterUnavailable as exc:
            pytest.skip(f"no PostgreSQL for this test: {exc}")
        url = cluster.over_tcp(cluster.new_database())
        child = subprocess.Popen(
            lane.command(sys.executable, "-c", CHILD, url, str(LEASE_MS)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert _line(child, 30) == "ready"
        lane.set_link(False)  # the partition
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        cut = time.monotonic()
        answer = _line(child, 30)
        waited = time.monotonic() - cut
        assert answer, f"the write still hung {waited:.1f} s after the cut"
        seconds, outcome = answer.split(" ", 1)
        assert outcome.startswith("StoreError"), outcome
        assert "cannot be reached" in outcome, outcome
        # a heartbeat period is 1 s; before, the first call waited the 10 s connect timeout
        assert float(seconds) < 3.5, f"the first write of the partition took {seconds} s"
        print(f"the first write of the partition failed after {seconds} s: {outcome}")
    finally:
        if child is not None:
            child.kill()
            child.wait()
            for pipe in (child.stdin, child.stdout):
                if pipe is not None:
                    pipe.close()
        lane.destroy()
        cluster.stop()
