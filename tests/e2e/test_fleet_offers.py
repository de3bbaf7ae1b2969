"""Two real daemons on one PostgreSQL: a download its host cannot start now runs on the host
that can (docs/fleet.md, "Offering a job to the fleet").

The downloads of ``uidt download`` are user-initiated jobs scheduled while the app is visible,
which start at once beyond the slot limit (as a TOP app's on Android), so the slot case is
tested with two runtimes (tests/daemon/test_fleet_offers.py); here host-a's readings hold the
job back: it is on a metered network, and the job wants an unmetered one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from uidt.job.reasons import PendingReason
from uidt.testing.fleetruns import RunSpan, overlaps, read_runs
from uidt.testing.httpserver import ThreadedTransferTestServer

from .conftest import Daemon, wait_for

pytestmark = pytest.mark.postgres


def _log(home: Path) -> str:
    return (home / "logs" / "daemon.log").read_text()


def _one(jobs: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    return jobs if len(jobs) == 1 else None


def _fleet(daemon: Daemon) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = daemon.uidt_json("jobs", "--fleet", "--json")["jobs"]
    return jobs


def _runs(homes: list[Path]) -> list[RunSpan]:
    return read_runs(log for home in homes for log in (home / "logs").glob("worker-*"))


@pytest.mark.slow  # about 5 s: two daemons and three downloads
def test_a_download_its_host_cannot_start_runs_on_the_host_that_can(
    tmp_path: Path, postgres_url: str
) -> None:
    """host-a (metered, one slot) gets two downloads: one any network may carry (host-a runs
    it) and one wanting an unmetered network, which host-a offers and idle host-b (unmetered,
    60 s lease: the wake, not its look every 20 s) runs. Both files end byte-exact; host-b's log
    and host-a's ``uidt jobs --fleet`` say where each ran. A third, wanting an unmetered network
    while host-b is metered too, waits on host-a with its reason, and runs there once host-a's
    network is unmetered."""
    store = ("--store", postgres_url)
    homes = [tmp_path / "a", tmp_path / "b"]
    for home in homes:
        home.mkdir()
    lease = {"lease_ms": "60s"}
    host_a = Daemon(
        homes[0], {**lease, "host_id": "host-a", "concurrency_limit": "1"}, extra_args=store
    )
    host_b = Daemon(homes[1], {**lease, "host_id": "host-b"}, extra_args=store)
    data = {name: name.encode() * 10_000 for name in ("any", "wifi", "later")}
    dest = {name: tmp_path / f"{name}.bin" for name in data}
    with ThreadedTransferTestServer() as server:
        for name, body in data.items():
            server.add_file(f"/{name}.bin", body)
        try:
            host_a.start()
            host_b.start()
            host_a.shell("device", "set", "metered=true")
            for name, network in (("any", "any"), ("wifi", "unmetered")):
                url = server.url(f"/{name}.bin")
                done = host_a.uidt("download", url, "-o", str(dest[name]), "--network", network)
                assert done.returncode == 0, done.stderr
            wait_for(lambda: dest["any"].exists() and dest["wifi"].exists(), what="two files")
            for name in ("any", "wifi"):
                assert dest[name].read_bytes() == data[name]
            said = "offered to the other hosts (a constraint unmet on this host's readings)"
            # host-a logs its offer once the store answered; host-b may have finished first
            wait_for(lambda: said in _log(homes[0]), what="host-a's offer in its log")
            a_log, b_log = _log(homes[0]), _log(homes[1])
            logs = f"host-a:\n{a_log}\nhost-b:\n{b_log}"
            assert "took over 1 job(s)" in b_log, logs
            assert "took over" not in a_log, logs
            runs = _runs(homes)
            hosts = {Path(run.dest).name: run.host for run in runs}
            assert hosts == {"any.bin": "host-a", "wifi.bin": "host-b"}, (runs, logs)
            assert overlaps(runs) == []
            # nobody can start the third now: it waits on host-a, with its reason, untaken
            host_b.shell("device", "set", "metered=true")
            url = server.url("/later.bin")
            done = host_a.uidt("download", url, "-o", str(dest["later"]), "--network", "unmetered")
            assert done.returncode == 0, done.stderr
            wait_for(lambda: _log(homes[0]).count(said) == 2, what="the third job's offer")
            [waiting] = wait_for(  # the wifi job forgotten, the any job ended: the third alone
                lambda: _one(host_a.uidt_json("jobs", "--json")), what="host-a's waiting job"
            )
            assert waiting["pending_reasons"] == [int(PendingReason.CONSTRAINT_CONNECTIVITY)]
            # (the finished jobs' rows may still be on their way out of the store)
            others = {j["job_id"]: j for j in _fleet(host_b) if not j["this_host"]}
            assert others[waiting["job_id"]]["lease"] == "offered", others
            assert others[waiting["job_id"]]["host"] is None
            mine = {j["job_id"]: j for j in _fleet(host_a) if j["this_host"]}
            assert waiting["job_id"] in mine  # host-a shows it as its own, waiting
            host_a.shell("device", "set", "metered=false")
            wait_for(dest["later"].exists, what="the third file, on host-a")
            assert dest["later"].read_bytes() == data["later"]
            assert {Path(r.dest).name: r.host for r in _runs(homes)}["later.bin"] == "host-a"
            assert "took over 1 job(s)" in _log(homes[1])
        finally:
            host_a.stop()
            host_b.stop()
