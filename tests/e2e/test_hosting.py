"""App hosting through the real daemon: ANRs, op timeouts, crashes, killed and broken workers."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from uidt import JobScheduler

from .conftest import LIMITED, SAMPLE, Daemon, read_log, uij, wait_for


@pytest.fixture(autouse=True)
def _no_jobs_left(daemon: Daemon) -> Iterator[None]:
    yield
    for app in (SAMPLE, LIMITED):
        daemon.shell("cancel", app)
    wait_for(
        lambda: not any(j["state"] == "active" for j in daemon.jobs(include_ended=False)),
        what="no running jobs",
    )


def schedule(
    daemon: Daemon, job_id: int, mode: str, log: Path, app: str = SAMPLE, **kw: Any
) -> None:
    scheduler = daemon.scheduler(app)
    with scheduler.activity():
        assert scheduler.schedule(uij(job_id, mode, log, **kw)) == JobScheduler.RESULT_SUCCESS


def starts(log: Path, job_id: int, mode: str) -> int:
    return read_log(log).count(f"start {job_id} {mode}")


def rescheduled(job: dict[str, Any]) -> bool:
    return any(h["state"] == "rescheduled" for h in job["history"])


def backing_off(job: dict[str, Any]) -> bool:
    """Waiting only for its backoff to pass (it crashed, or was stopped, often enough)."""
    return job["state"] == "waiting" and job["earliest_run_time"] is not None


def anrs_of(daemon: Daemon, job_id: int) -> list[dict[str, Any]]:
    return [a for a in daemon.dumpsys()["anrs"] if a["app"] == SAMPLE and a["job_id"] == job_id]


def test_a_service_that_never_notifies_is_anrd_and_rescheduled(
    daemon: Daemon, app_log: Path
) -> None:
    schedule(daemon, 601, "silent", app_log)
    anrs = wait_for(lambda: anrs_of(daemon, 601), what="an ANR after the notification timeout")
    assert anrs[0]["reason"] == "required notification not provided"
    job = daemon.wait_job(601, rescheduled, "rescheduled")
    assert daemon.scheduler().get_pending_job(601) is not None
    assert job["notification"] is None
    assert not [line for line in read_log(app_log) if line.startswith("stop ")]


def test_a_blocked_on_start_job_hits_the_op_timeout(daemon: Daemon, app_log: Path) -> None:
    schedule(daemon, 602, "block", app_log)
    wait_for(lambda: starts(app_log, 602, "block"), what="on_start_job to be entered")
    anrs = wait_for(lambda: anrs_of(daemon, 602), what="an ANR after the op timeout")
    assert anrs[0]["reason"] == "No response to onStartJob"
    # docs/android-semantics.md#the-execution-slot-and-its-timeouts item 3: no answer to onStartJob in time -> ANR, and the job is dropped.
    job = daemon.wait_job(602, lambda j: j["state"] == "finished", "dropped")
    assert job["history"][-1]["reason"].endswith("/ANR")
    assert daemon.scheduler().get_pending_job(602) is None
    assert not rescheduled(job)


def test_an_exception_in_the_app_kills_its_worker_and_reschedules(
    daemon: Daemon, app_log: Path
) -> None:
    schedule(daemon, 603, "raise", app_log)
    crashes = wait_for(
        lambda: [
            c for c in daemon.dumpsys()["crashes"] if "boom in on_start_job" in c["traceback"]
        ],
        what="the crash to be recorded",
    )
    assert crashes[0]["app"] == SAMPLE
    daemon.wait_job(603, rescheduled, "rescheduled")
    assert daemon.scheduler().get_pending_job(603) is not None
    # The daemon is fine: another job of the same app runs in a fresh worker.
    schedule(daemon, 604, "finish", app_log)
    wait_for(lambda: starts(app_log, 604, "finish"), what="job 604 to run")


def test_sigkill_of_the_worker_mid_run_reschedules_without_on_stop_job(
    daemon: Daemon, app_log: Path
) -> None:
    schedule(daemon, 605, "run", app_log)
    daemon.wait_running(605)
    pid = daemon.worker_pid()

    os.kill(pid, signal.SIGKILL)

    wait_for(lambda: not psutil.pid_exists(pid), what="the worker to be reaped")
    daemon.wait_job(605, rescheduled, "rescheduled")
    wait_for(lambda: starts(app_log, 605, "run") == 2, what="job 605 to run again")
    daemon.wait_running(605)
    assert daemon.worker_pid() != pid
    assert not [line for line in read_log(app_log) if line.startswith("stop ")]


def test_an_unimportable_service_fails_that_start_only(daemon: Daemon, app_log: Path) -> None:
    schedule(daemon, 606, "x", app_log, app=LIMITED, service="nosuchmodule:Missing")
    crashes = wait_for(
        lambda: [c for c in daemon.dumpsys()["crashes"] if c["app"] == LIMITED],
        what="the import failure to be recorded",
    )
    assert "No module named 'nosuchmodule'" in crashes[0]["traceback"]
    assert daemon.api("GET", "/v1/ping")["ok"] is True
    # The crash ends the app's worker (as Android ends a crashing app process), and with it
    # every run of the app; 606 is started again at once until three such system stops count
    # as one failure (JobSchedulerService's SYSTEM_STOP_TO_FAILURE_RATIO) and it waits out a
    # backoff. A job of the same app started during that loop is stopped with it each time
    # and, stopped three times, waits 30 s too (seen on a loaded machine, where the loop is
    # slow): so the loop's end comes first.
    daemon.wait_job(606, backing_off, "to wait out a backoff after its crashes", app=LIMITED)
    # The same app's importable service and the other app still run.
    schedule(daemon, 607, "x", app_log, app=LIMITED, service="limited_app:FinishService")
    schedule(daemon, 608, "finish", app_log)
    wait_for(
        lambda: "start 607 limited" in read_log(app_log), what="the limited app's good service"
    )
    wait_for(lambda: starts(app_log, 608, "finish"), what="the sample app")


def test_a_worker_sending_garbage_is_treated_as_dead_and_others_carry_on(
    daemon: Daemon, app_log: Path
) -> None:
    schedule(daemon, 609, "run", app_log)
    daemon.wait_running(609)
    sample_worker = daemon.worker_pid(SAMPLE)

    schedule(daemon, 610, "x", app_log, app=LIMITED, service="limited_app:GarbageService")

    wait_for(lambda: "start 610 garbage" in read_log(app_log), what="the garbage to be sent")
    daemon.wait_job(610, rescheduled, "rescheduled after the worker's death", app=LIMITED)
    job = daemon.job(609)
    assert job is not None
    assert job["state"] == "active"  # the other app's job was not disturbed
    assert daemon.worker_pid(SAMPLE) == sample_worker
    assert not stop_lines(app_log)
    log_text = (daemon.home / "logs" / "daemon.log").read_text()
    assert f"worker of {LIMITED} broke the protocol" in log_text


def stop_lines(log: Path) -> list[str]:
    return [line for line in read_log(log) if line.startswith("stop ")]
