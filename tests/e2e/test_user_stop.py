"""``uidt stop APP``: the Task Manager's Stop, against a real daemon and a real worker process."""

from __future__ import annotations

from pathlib import Path

import psutil

from uidt import JobScheduler, NetworkType, PendingReason, StopReason
from uidt.job.flags import INTERNAL_FLAG_DEMOTED_BY_USER

from .conftest import SAMPLE, Daemon, read_log, uij, wait_for


def test_user_stop_kills_the_app_without_on_stop_job(daemon: Daemon, app_log: Path) -> None:
    scheduler = daemon.scheduler()
    with scheduler.activity():
        for job_id in (301, 302):
            assert scheduler.schedule(uij(job_id, "run", app_log)) == JobScheduler.RESULT_SUCCESS
        # The fake device is on Wi-Fi: a cellular job waits.
        waiting = uij(303, "run", app_log, network=NetworkType.CELLULAR)
        assert scheduler.schedule(waiting) == JobScheduler.RESULT_SUCCESS
    daemon.wait_running(301)
    daemon.wait_running(302)
    notified = {(n["app"], n["id"]) for n in daemon.dumpsys()["notifications"]}
    assert {(SAMPLE, 301), (SAMPLE, 302)} <= notified
    worker = psutil.Process(daemon.worker_pid())

    done = daemon.uidt("stop", SAMPLE)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Stopped {SAMPLE} (2 running job(s))"
    worker.wait(timeout=10)  # the worker process is gone (SIGKILL of its process group)
    assert not psutil.pid_exists(worker.pid) or worker.status() == psutil.STATUS_ZOMBIE
    for job_id in (301, 302):
        job = daemon.wait_job(job_id, lambda j: j["state"] == "user-stopped", "user-stopped")
        assert job["stop_reason"] == StopReason.USER
        assert scheduler.get_pending_job(job_id) is None
    assert not [n for n in daemon.dumpsys()["notifications"] if n["app"] == SAMPLE]
    assert not [line for line in read_log(app_log) if line.startswith("stop ")]

    demoted = daemon.wait_job(303, lambda j: PendingReason.USER in j["pending_reasons"], "demoted")
    assert demoted["internal_flags"] & INTERNAL_FLAG_DEMOTED_BY_USER
    assert scheduler.get_pending_job(303) is not None
    assert scheduler.get_pending_job_reason(303) == PendingReason.USER

    # The app is not dead for good: a new visible schedule runs it again in a new worker.
    with scheduler.activity():
        assert scheduler.schedule(uij(304, "finish", app_log)) == JobScheduler.RESULT_SUCCESS
    wait_for(lambda: "start 304 finish" in read_log(app_log), what="a new run after the stop")
    assert daemon.worker_pid() != worker.pid


def test_user_stop_of_an_unknown_app_is_a_clear_error(daemon: Daemon) -> None:
    done = daemon.uidt("stop", "org.example.nothing")
    assert done.returncode == 1
    assert "No such app: org.example.nothing" in done.stderr
