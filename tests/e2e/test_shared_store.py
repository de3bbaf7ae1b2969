"""A real daemon on a shared PostgreSQL store: an unreachable database at start, leases held
and given back, and a job whose lease another host took stops at once (docs/fleet.md)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg
import pytest

from uidt import JobScheduler
from uidt.errors import StoreError
from uidt.job.key import JobKey
from uidt.job.reasons import PendingReason, StopReason
from uidt.store.postgres import PostgresJobStore
from uidt.testing.fleetruns import RunSpan, overlaps, read_runs
from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.testing.postgres import ClusterUnavailable, TemporaryCluster
from uidt.transfers.partfile import checkpoint_path

from .conftest import SAMPLE, SAMPLE_DIR, Daemon, clean_env, read_log, uij, wait_for

pytestmark = pytest.mark.postgres

KEY = JobKey(SAMPLE, None, 701)


def _lease(url: str) -> tuple[str | None, int] | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT lease_owner, lease_generation FROM uidt_jobs WHERE app = %s AND job_id = %s",
            (KEY.app, KEY.job_id),
        ).fetchone()
    return None if row is None else (row[0], int(row[1]))


def _host_a(tmp_path: Path, url: str) -> tuple[Daemon, Path]:
    """host-a (3 s leases) on the store at ``url``, not started yet, and its app's log."""
    home, log = tmp_path / "home", tmp_path / "app.log"
    home.mkdir()
    return Daemon(home, {"host_id": "host-a", "lease_ms": "3s"}, extra_args=("--store", url)), log


def _run_the_job(daemon: Daemon, log: Path) -> JobScheduler:
    """Start ``daemon``, install the sample app and schedule KEY's persisted job until it runs;
    the app's scheduler."""
    daemon.start()
    daemon.install(SAMPLE_DIR)
    scheduler = daemon.scheduler()
    with scheduler.activity():
        job = uij(KEY.job_id, "run", log, persisted=True)
        assert scheduler.schedule(job) == JobScheduler.RESULT_SUCCESS
    daemon.wait_running(KEY.job_id)
    return scheduler


def test_an_unreachable_database_at_start_is_one_clear_error_and_exit_1(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = f"postgresql://alice:s3cret@/uidt?host={tmp_path}&port=5999"
    command = [sys.executable, "-m", "uidt", "--home", str(home), "daemon", "--foreground"]
    done = subprocess.run(
        [*command, "--device", "fake", "--store", url],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("uidt: ")]
    assert len(errors) == 1, done.stderr
    assert "job store postgresql://alice:***@" in errors[0]
    assert "connecting failed" in errors[0]
    assert "s3cret" not in done.stderr + done.stdout
    assert not (home / "daemon.sock").exists()


def test_a_daemon_holds_its_jobs_leases_and_gives_them_back_at_shutdown(
    tmp_path: Path, postgres_url: str
) -> None:
    daemon, log = _host_a(tmp_path, postgres_url)
    try:
        _run_the_job(daemon, log)
        lease = _lease(postgres_url)
        assert lease is not None
        assert lease[0] == "host-a"
    finally:
        daemon.stop()
    assert daemon.returncode == 0
    assert _lease(postgres_url) == (None, lease[1])  # given back, same generation


def test_a_job_whose_lease_another_host_took_stops_at_once(
    tmp_path: Path, postgres_url: str
) -> None:
    daemon, log = _host_a(tmp_path, postgres_url)
    try:
        scheduler = _run_the_job(daemon, log)
        # host-a froze (as far as the store can tell): its lease ran out and host-b claimed it
        with PostgresJobStore(postgres_url, host_id="host-b") as other:
            # host-a's heartbeat may renew the lease between the expiry and the claim (a
            # holder may renew a lease nobody took yet): expire it again until host-b has it
            claimed: list[JobKey] = []
            for _ in range(20):
                with psycopg.connect(postgres_url) as conn:
                    conn.execute("UPDATE uidt_jobs SET lease_expires_utc_ms = 0")
                claimed = [r.key for r in other.claim()]
                if claimed:
                    break
            assert claimed == [KEY]
            taken = _lease(postgres_url)
            stop = f"stop {KEY.job_id} {int(StopReason.SYSTEM_PROCESSING)}"
            wait_for(
                lambda: any(line.startswith(stop) for line in read_log(log)),
                what="the job to stop on host-a",
            )
            wait_for(
                lambda: scheduler.get_pending_job(KEY.job_id) is None, what="host-a to forget it"
            )
            assert _lease(postgres_url) == taken  # host-a wrote nothing over host-b's lease
    finally:
        daemon.stop()
    assert _lease(postgres_url) == taken  # nor at its shutdown
    assert "lost its lease" in daemon.output()


@pytest.mark.slow  # about 8 s: two daemons, a lease of 2 s to run out, a throttled download
def test_a_killed_hosts_download_is_taken_over_and_completes_byte_exact(
    tmp_path: Path, postgres_url: str
) -> None:
    """kill -9 host-a mid-download (the daemon alone: its worker is left to notice on its own);
    host-b (already running on the same store) claims the job once the lease expired, within
    the lease + 2 s, and finishes it from the partial file both can see; the fleet-run lines of
    both hosts' workers show their writes never overlapped."""
    data = os.urandom(3 * 1024 * 1024 + 11)
    dest = tmp_path / "big.bin"
    settings = {"lease_ms": "2s"}
    store = ("--store", postgres_url)
    homes = [tmp_path / "a", tmp_path / "b"]
    for home in homes:
        home.mkdir()
    host_a = Daemon(homes[0], {**settings, "host_id": "host-a"}, extra_args=store)
    host_b = Daemon(homes[1], {**settings, "host_id": "host-b"}, extra_args=store)
    with ThreadedTransferTestServer() as server:
        server.add_file("/big.bin", data)
        server.throttle("/big.bin", 1024 * 1024)
        try:
            host_a.start()
            host_b.start()
            scheduled = host_a.uidt("download", server.url("/big.bin"), "-o", str(dest))
            assert scheduled.returncode == 0, scheduled.stderr
            # the bytes the server sent may still sit in socket buffers: wait for host-a's
            # checkpoint to name some, or host-b rightly starts again from zero
            wait_for(lambda: _checkpointed(dest) > 0, what="host-a to checkpoint some bytes")
            held = _leases(postgres_url)
            assert [owner for owner, _ in held] == ["host-a"]
            orphans = host_a.worker_processes()
            known = len(server.server.requests)
            killed = time.monotonic()
            os.kill(host_a.pid, signal.SIGKILL)
            wait_for(
                lambda: any(r.body_bytes for r in server.server.requests[known:]),
                timeout=30,
                what="host-b to take the download over",
            )
            assert time.monotonic() - killed <= 2 + 2  # the lease + 2 s
            server.throttle("/big.bin", None)
            wait_for(dest.exists, timeout=30, what="host-b to complete the download")
            assert dest.read_bytes() == data
            for orphan in orphans:
                with contextlib.suppress(psutil.Error):
                    orphan.wait(timeout=10)
            wait_for(
                lambda: all(r.end is not None for r in _runs(homes)),
                what="both runs to log the end of their writes",
            )
            runs = _runs(homes)
            assert [r.host for r in runs] == ["host-a", "host-b"], runs
            assert runs[0].generation == held[0][1] < runs[1].generation
            assert overlaps(runs) == []
            said = "".join(log.read_text() for log in (homes[1] / "logs").glob("worker-*"))
            assert "taken over from another host: resumed from " in said
            assert "(partial file on shared storage)" in said
            assert "took over 1 job(s)" in (homes[1] / "logs" / "daemon.log").read_text()
            assert max(server.server.range_starts()) > 0, "host-b started again from zero"
        finally:
            host_a.stop()
            host_b.stop()


def _checkpointed(dest: Path) -> int:
    """The offset the download's checkpoint names (0: none yet)."""
    try:
        return int(json.loads(checkpoint_path(dest).read_bytes()).get("offset") or 0)
    except (OSError, ValueError):
        return 0


def _runs(homes: list[Path]) -> list[RunSpan]:
    return read_runs(log for home in homes for log in (home / "logs").glob("worker-*"))


def _leases(url: str) -> list[tuple[str | None, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT lease_owner, lease_generation FROM uidt_jobs").fetchall()
    return [(row[0], int(row[1])) for row in rows]


@pytest.mark.slow  # about 10 s: a cluster of its own, stopped and started under a running daemon
def test_a_database_lost_mid_run_stops_the_job_in_time_and_it_runs_again_when_back(
    tmp_path: Path,
) -> None:
    cluster = TemporaryCluster()
    try:
        cluster.start()
    except ClusterUnavailable as exc:
        pytest.skip(f"no PostgreSQL for this test: {exc}")
    url = cluster.new_database()
    daemon, log = _host_a(tmp_path, url)
    try:
        scheduler = _run_the_job(daemon, log)
        cluster.stop_server()  # the database is gone, as for a partitioned host
        stop = f"stop {KEY.job_id} {int(StopReason.SYSTEM_PROCESSING)}"
        wait_for(
            lambda: any(line.startswith(stop) for line in read_log(log)),
            what="the job to stop before its lease could expire",
        )
        assert "no lease renewed for" in daemon.output()
        # scheduling while the database is away answers at once with a clear error (the store
        # knows it is away: no 10 s wait for a connection on the writer's thread)
        began = time.monotonic()
        with scheduler.activity(), pytest.raises(StoreError, match="cannot be reached"):
            scheduler.schedule(uij(KEY.job_id + 1, "run", log, persisted=True))
        assert time.monotonic() - began < 5
        # a status never lies: the app was told "not scheduled", so the job is not there at all
        assert scheduler.get_pending_job(KEY.job_id + 1) is None
        cluster.start_server()
        wait_for(
            lambda: read_log(log).count(f"start {KEY.job_id} run") == 2,
            timeout=30,
            what="the job to run again once the database is back",
        )
        assert f"start {KEY.job_id + 1} " not in "\n".join(read_log(log)), "the refused job ran"
        assert scheduler.get_pending_job(KEY.job_id + 1) is None
        lease = _lease(url)
        assert lease is not None
        assert lease[0] == "host-a"
    finally:
        daemon.stop()
        cluster.stop()


@pytest.mark.slow  # about 5 s: two daemons and three downloads
def test_labelled_jobs_end_on_a_host_with_the_labels_woken_at_once(
    tmp_path: Path, postgres_url: str
) -> None:
    """host-a (no labels) schedules three downloads: one any host may run (host-a runs it),
    one for gpu-rack (host-b, idle, with a 60 s lease: woken by NOTIFY, it claims the job long
    before its periodic look at 20 s) and one for a label no host has (it waits on host-a with
    that reason, and idle host-b never takes it)."""
    store = ("--store", postgres_url)
    settings = {"lease_ms": "60s"}
    homes = [tmp_path / "a", tmp_path / "b"]
    for home in homes:
        home.mkdir()
    host_a = Daemon(homes[0], {**settings, "host_id": "host-a"}, extra_args=store)
    host_b = Daemon(
        homes[1],
        {**settings, "host_id": "host-b", "host_labels": "gpu-rack,ssd"},
        extra_args=store,
    )
    anywhere, gpu, nowhere = (tmp_path / name for name in ("any.bin", "gpu.bin", "nvme.bin"))
    with ThreadedTransferTestServer() as server:
        for name in ("any", "gpu", "nvme"):
            server.add_file(f"/{name}.bin", name.encode() * 1000)
        try:
            host_a.start()
            host_b.start()
            for path, dest, labels in (
                ("/any.bin", anywhere, ()),
                ("/gpu.bin", gpu, ("--on", "gpu-rack")),
                ("/nvme.bin", nowhere, ("--on", "nvme")),
            ):
                done = host_a.uidt("download", server.url(path), "-o", str(dest), *labels)
                assert done.returncode == 0, done.stderr
            wait_for(lambda: anywhere.exists() and gpu.exists(), timeout=15, what="two files")
            assert gpu.read_bytes() == b"gpu" * 1000
            assert anywhere.read_bytes() == b"any" * 1000
            b_log = (homes[1] / "logs" / "daemon.log").read_text()
            assert "took over 1 job(s)" in b_log
            assert "any.bin" not in host_b.output() + b_log  # host-a ran its own job
            # host-a forgets the gpu job at once (told the job was taken), keeps the nvme one
            wait_for(
                lambda: len(host_a.uidt_json("jobs", "--json")) == 1,
                timeout=10,
                what="host-a to forget the job host-b took",
            )
            [waiting] = host_a.uidt_json("jobs", "--json")
            assert waiting["required_host_labels"] == ["nvme"]
            assert waiting["pending_reasons"] == [int(PendingReason.HOST_LABELS)]
            table = " ".join(host_a.uidt("jobs").stdout.split())  # table cells wrap
            assert "label nvme" in table, table
            assert not nowhere.exists()
            owners = {owner for owner, _ in _leases(postgres_url)}
            assert owners == {None}  # the nvme job alone is left, free, and nobody took it
        finally:
            host_a.stop()
            host_b.stop()
