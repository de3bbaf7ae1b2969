"""The daemon's low-memory killer: at CRITICAL pressure the largest worker is killed, with no
``on_stop_job``, and its job is rescheduled (a system stop), as Android's lmkd does."""

from __future__ import annotations

from pathlib import Path

import psutil

from .conftest import SAMPLE, Daemon, read_log, uij, wait_for


def test_critical_memory_kills_the_worker_and_the_job_comes_back(
    daemon: Daemon, tmp_path: Path
) -> None:
    # Given a running job in the sample app's worker
    log = tmp_path / "app.log"
    with daemon.scheduler().activity():
        assert daemon.scheduler().schedule(uij(4100, "run", log)) == 1
    daemon.wait_running(4100)
    pid = daemon.worker_pid(SAMPLE)

    # When memory pressure turns critical
    daemon.shell("device", "set", "memory=critical")
    try:
        # Then the worker is killed (no on_stop_job) and the job is rescheduled as a system stop
        wait_for(lambda: not psutil.pid_exists(pid) or _zombie(pid), what="the worker to die")
        job = daemon.wait_job(4100, lambda j: j["num_system_stops"] >= 1, "a system stop")
        assert job["state"] != "user-stopped"
        assert not [line for line in read_log(log) if line.startswith("stop 4100")]
    finally:
        daemon.shell("device", "reset")
    # ...and once memory recovers it runs again
    daemon.wait_job(4100, lambda j: j["state"] == "active", "running again")
    daemon.api("DELETE", f"/v1/apps/{SAMPLE}/jobs/4100")


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
