"""One view of the fleet with real daemons on a shared PostgreSQL store (docs/fleet.md):
``uidt jobs --fleet`` on one host shows another host's jobs with their host, without secrets;
``uidt stop`` on one host stops the app's job on the host holding it, and the view reads
"stopped" only once that host did it; a request naming an older generation stops nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from uidt import JobInfo, JobScheduler, NetworkType
from uidt.job.key import JobKey
from uidt.store.postgres import PostgresJobStore
from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.names import TRANSFERS_APP

from .conftest import SAMPLE, SAMPLE_DIR, SAMPLE_SERVICE, Daemon, read_log, uij, wait_for

#: Short leases: the hosts tick (run lists, stop requests) every 0.67 s.
SETTINGS = {"lease_ms": "2s"}


@pytest.fixture
def two_hosts(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Daemon, Daemon]]:
    store = ("--store", postgres_url)
    homes = [tmp_path / "a", tmp_path / "b"]
    for home in homes:
        home.mkdir()
    host_a = Daemon(homes[0], {**SETTINGS, "host_id": "host-a"}, extra_args=store)
    host_b = Daemon(homes[1], {**SETTINGS, "host_id": "host-b"}, extra_args=store)
    try:
        host_a.start()
        host_a.install(SAMPLE_DIR)
        host_b.start()
        yield host_a, host_b
    finally:
        host_a.stop()
        host_b.stop()


def _fleet(daemon: Daemon) -> dict[str, Any]:
    done = daemon.uidt("jobs", "--fleet", "--json")
    assert done.returncode == 0, done.stderr
    view: dict[str, Any] = json.loads(done.stdout)
    return view


def _job(view: dict[str, Any], job_id: int, app: str = SAMPLE) -> dict[str, Any] | None:
    found = [j for j in view["jobs"] if j["app"] == app and j["job_id"] == job_id]
    return found[0] if found else None


@pytest.mark.postgres
@pytest.mark.slow  # about 8 s: two daemons, a download and a stop crossing hosts
def test_a_stop_from_another_host_reaches_the_job_and_reads_stopped_only_once_done(
    two_hosts: tuple[Daemon, Daemon], tmp_path: Path
) -> None:
    host_a, host_b = two_hosts
    log = tmp_path / "app.log"
    with ThreadedTransferTestServer() as server:
        try:
            server.add_file("/big.bin", b"x" * (4 * 1024 * 1024))
            server.throttle("/big.bin", 64 * 1024)
            url = server.url("/big.bin").replace("http://", "http://alice:s3cret-pw@")
            fetched = host_a.uidt(
                "download", url, "-o", str(tmp_path / "big.bin"), "-H", "X-Api-Key: k3y-xyz"
            )
            assert fetched.returncode == 0, fetched.stderr
            with host_a.scheduler().activity():
                job = uij(801, "run", log, persisted=True)
                assert host_a.scheduler().schedule(job) == JobScheduler.RESULT_SUCCESS
            host_a.wait_running(801)

            # host-b sees host-a's jobs, with their host, once host-a has said what runs there
            seen = wait_for(
                lambda: (j := _job(_fleet(host_b), 801)) and j["state"] == "running" and j,
                what="host-b's fleet view to show job 801 running on host-a",
            )
            assert (seen["host"], seen["this_host"], seen["lease"]) == ("host-a", False, "held")
            view = _fleet(host_b)
            assert view["fleet"] is True
            assert view["host_id"] == "host-b"
            download = [j for j in view["jobs"] if j["app"] == TRANSFERS_APP]
            assert [j["host"] for j in download] == ["host-a"]
            table = host_b.uidt("jobs", "--fleet")
            assert table.returncode == 0, table.stderr
            assert "host-a" in table.stdout
            assert "running" in table.stdout
            for shown in (json.dumps(view), table.stdout, table.stderr):
                assert "s3cret-pw" not in shown  # a test greps: the password and the secret
                assert "k3y-xyz" not in shown  # header never leave host-a through the view
            mine = _job(_fleet(host_a), 801)
            assert mine is not None
            assert (mine["this_host"], mine["state"]) == (True, "active")  # as `uidt jobs` shows

            # the Task Manager's Stop on host-b of an app whose job runs on host-a
            stopped = host_b.uidt("stop", SAMPLE)
            assert stopped.returncode == 0, stopped.stderr
            assert "stop sent to host host-a (job 801)" in stopped.stdout

            def settled() -> dict[str, Any] | None:
                requests = [r for r in _fleet(host_b)["stop_requests"] if r["job_id"] == 801]
                return requests[0] if requests and requests[0]["outcome"] else None

            request = wait_for(settled, what="host-a to carry the stop out")
            # read "stopped" on host-b: host-a has done it by then (never the other way round)
            ended = host_a.job(801)
            assert ended is not None
            assert ended["state"] == "user-stopped"
            assert (request["outcome"], request["done_by"], request["requested_by"]) == (
                "stopped",
                "host-a",
                "host-b",
            )
            assert not any(line.startswith("stop 801") for line in read_log(log))  # no on_stop_job
            assert _job(_fleet(host_b), 801) is None  # a user-initiated job is dropped, not rerun
            assert [j["host"] for j in _fleet(host_b)["jobs"] if j["app"] == TRANSFERS_APP] == [
                "host-a"
            ]  # the other app's job runs on
        finally:
            host_b.stop()  # first: else it takes the download host-a gives back at once
            host_a.stop()  # its download's connection closes before the server's end


@pytest.mark.postgres
@pytest.mark.slow  # about 5 s: two daemons
def test_a_stop_request_naming_an_older_generation_leaves_the_rescheduled_job_running(
    two_hosts: tuple[Daemon, Daemon], tmp_path: Path, postgres_url: str
) -> None:
    host_a, _ = two_hosts
    log = tmp_path / "app.log"
    scheduler = host_a.scheduler()
    with scheduler.activity():
        assert scheduler.schedule(uij(802, "run", log, persisted=True)) == 1
        first = host_a.wait_running(802)["generation"]
        # the app schedules the job anew (other work): a newer generation of the same id
        assert scheduler.schedule(uij(802, "task", log, persisted=True)) == 1
    second = host_a.wait_job(802, lambda j: j["generation"] != first, "a new generation")
    assert second["generation"] > first
    # the user's stop of the first scheduling arrives only now
    with PostgresJobStore(postgres_url, host_id="host-c") as other:
        request = other.fleet.request_stop(JobKey(SAMPLE, None, 802), first)
        assert request.sent_to == "host-a"

        def settled() -> str | None:
            done = [
                r
                for r in other.fleet.fleet_jobs().stop_requests
                if r.request_id == request.request_id
            ]
            return done[0].outcome.value if done and done[0].outcome else None

        assert wait_for(settled, what="host-a to look at the request") == "stale"
    job = host_a.wait_running(802)
    assert job["generation"] == second["generation"]
    daemon_log = (host_a.home / "logs" / "daemon.log").read_text()
    assert f"(generation {first}): stale" in daemon_log


@pytest.mark.postgres
@pytest.mark.slow  # about 8 s: two daemons, one restarted
def test_a_restarted_host_brings_back_its_own_detached_notifications_not_the_other_hosts(
    two_hosts: tuple[Daemon, Daemon], tmp_path: Path
) -> None:
    host_a, host_b = two_hosts
    log = tmp_path / "app.log"
    host_b.install(SAMPLE_DIR)
    for host, job_id in ((host_a, 811), (host_b, 812)):
        scheduler = host.scheduler()
        detached = (
            JobInfo.Builder(job_id, SAMPLE_SERVICE)
            .set_user_initiated(True)
            .set_required_network_type(NetworkType.ANY)
            .set_estimated_network_bytes(1000, 0)
            .set_persisted(True)
            .set_extras({"mode": "finish", "log": str(log), "end_policy": 0})  # DETACH
            .build()
        )
        with scheduler.activity():
            assert scheduler.schedule(detached) == JobScheduler.RESULT_SUCCESS
        host.wait_job(job_id, lambda j: j["state"] == "finished", "finished")

    def shown(host: Daemon) -> list[int]:
        notes = host.api("GET", "/v1/notifications")["notifications"]
        return sorted(int(n["id"]) for n in notes if n["app"] == SAMPLE)

    wait_for(lambda: shown(host_a) == [811], what="host-a's detached notification")
    wait_for(lambda: shown(host_b) == [812], what="host-b's detached notification")
    host_b.stop()
    host_b.start()
    assert shown(host_b) == [812]  # its own came back; host-a's did not
    assert shown(host_a) == [811]


def test_fleet_on_a_store_no_other_host_shares_says_so_in_one_line(daemon: Daemon) -> None:
    done = daemon.uidt("jobs", "--fleet")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [
        "uidt: this daemon's job store is not shared: no other hosts, only this host's jobs"
    ]
    view = daemon.uidt_json("jobs", "--fleet", "--json")
    assert view["fleet"] is False
    assert all(j["this_host"] for j in view["jobs"])
