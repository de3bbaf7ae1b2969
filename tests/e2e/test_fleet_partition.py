"""A host partitioned from the shared store's database (docs/fleet.md).

host-a runs in a network namespace of its own and reaches PostgreSQL over TCP through a veth
pair (:mod:`uidt.testing.partition`); host-b uses the server's unix socket. Taking host-a's
link down is a real partition: its packets go nowhere, its queries hang. host-a must stop its
job within the lease time (self-fencing) and before host-b, once the lease expired, takes the
job over; when the link comes back, host-a writes nothing stale over host-b's lease.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from uidt import JobScheduler
from uidt.job.key import JobKey
from uidt.job.reasons import StopReason
from uidt.testing.partition import HostLane, namespaces_permitted
from uidt.testing.postgres import ClusterUnavailable, TemporaryCluster

from .conftest import SAMPLE, SAMPLE_DIR, Daemon, read_log, uij, wait_for

pytestmark = pytest.mark.postgres

KEY = JobKey(SAMPLE, None, 731)
LEASE_S = 2.0


def _lease(url: str) -> tuple[str | None, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT lease_owner, lease_generation FROM uidt_jobs").fetchone()
    assert row is not None
    return row[0], int(row[1])


def _connected_since(url: str, address: str, since: float) -> bool:
    """Whether a client at ``address`` ran a query after ``since`` (wall clock)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE client_addr = %s "
            "AND extract(epoch FROM state_change) > %s",
            (address, since),
        ).fetchone()
    return row is not None and int(row[0]) > 0


@pytest.mark.slow  # about 10 s: a cluster of its own, two daemons, a lease to run out
def test_a_partitioned_host_stops_its_job_in_time_and_writes_nothing_stale_when_back(
    tmp_path: Path,
) -> None:
    if (why := namespaces_permitted()) is not None:
        pytest.skip(why)
    lane = HostLane()
    cluster = TemporaryCluster()
    daemons: list[Daemon] = []
    try:
        lane.create()
        try:
            cluster.start(tcp_address=lane.root_ip)
        except ClusterUnavailable as exc:
            pytest.skip(f"no PostgreSQL for this test: {exc}")
        url = cluster.new_database()
        log = tmp_path / "app.log"
        settings = {"lease_ms": f"{int(LEASE_S * 1000)}"}
        for name, store, prefix in (
            ("host-a", cluster.over_tcp(url), tuple(lane.command())),
            ("host-b", url, ()),
        ):
            home = tmp_path / name
            home.mkdir()
            daemon = Daemon(
                home,
                {**settings, "host_id": name},
                extra_args=("--store", store),
                command_prefix=prefix,
            )
            daemons.append(daemon)
            daemon.start()
            daemon.install(SAMPLE_DIR)
        host_a = daemons[0]
        scheduler = host_a.scheduler()
        with scheduler.activity():
            job = uij(KEY.job_id, "run", log, persisted=True)
            assert scheduler.schedule(job) == JobScheduler.RESULT_SUCCESS
        host_a.wait_running(KEY.job_id)
        owner, generation = _lease(url)
        assert owner == "host-a"

        lane.set_link(False)  # the partition
        cut = time.monotonic()
        stop = f"stop {KEY.job_id} {int(StopReason.SYSTEM_PROCESSING)}"
        wait_for(lambda: _first(log, stop) is not None, what="host-a to stop its job")
        stopped_after = time.monotonic() - cut
        assert stopped_after < LEASE_S, f"host-a stopped its job {stopped_after:.2f} s after"
        wait_for(
            lambda: read_log(log).count(f"start {KEY.job_id} run") == 2,
            timeout=30,
            what="host-b to take the job over",
        )
        starts = [i for i, line in enumerate(read_log(log)) if line == f"start {KEY.job_id} run"]
        stopped = _first(log, stop)
        assert stopped is not None
        assert starts[0] < stopped < starts[1]  # host-a stopped before host-b started
        taken = _lease(url)
        assert taken[0] == "host-b"
        assert taken[1] > generation

        healed = time.time()
        lane.set_link(True)
        wait_for(
            lambda: _connected_since(url, lane.host_ip, healed),
            timeout=30,
            what="host-a to reach the database again",
        )
        wait_for(lambda: "lost its lease" in _daemon_log(host_a), what="host-a's log to say so")
        # host-a, back, wrote nothing over host-b's lease and did not run the job again
        assert _lease(url)[0] == "host-b"
        assert _lease(url)[1] == taken[1]
        assert read_log(log).count(f"start {KEY.job_id} run") == 2
        assert read_log(log)[-1] == f"start {KEY.job_id} run"  # host-b's run goes on
    finally:
        for daemon in daemons:
            if daemon.process is not None:
                daemon.stop()
        cluster.stop()
        lane.destroy()


def _first(log: Path, prefix: str) -> int | None:
    """The index of the app log's first line starting with ``prefix``."""
    return next((i for i, line in enumerate(read_log(log)) if line.startswith(prefix)), None)


def _daemon_log(daemon: Daemon) -> str:
    path = daemon.home / "logs" / "daemon.log"
    return daemon.output() + (path.read_text(errors="replace") if path.exists() else "")
