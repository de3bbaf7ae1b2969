"""A persisted job survives ``kill -9`` of the daemon and a restart on the same home."""

from __future__ import annotations

from pathlib import Path

from uidt import JobInfo, JobScheduler, NetworkType
from uidt.store.sqlite import SqliteJobStore

from .conftest import (
    SAMPLE,
    SAMPLE_DIR,
    SAMPLE_SERVICE,
    Daemon,
    read_log,
    running_daemon,
    uij,
    wait_for,
)


def test_persisted_job_survives_kill_9_and_a_restart(tmp_path: Path) -> None:
    home, log = tmp_path / "home", tmp_path / "app.log"
    home.mkdir()
    with running_daemon(home) as first:
        first.install(SAMPLE_DIR)
        scheduler = first.scheduler()
        with scheduler.activity():
            kept = uij(401, "run", log, persisted=True)
            assert scheduler.schedule(kept) == JobScheduler.RESULT_SUCCESS
            assert scheduler.schedule(uij(402, "run", log)) == JobScheduler.RESULT_SUCCESS
        first.wait_running(401)
        first.wait_running(402)
        old_worker = first.worker_pid()

        first.kill9()

        assert first.returncode == -9

    second = Daemon(home)
    try:
        second.start()
        scheduler = second.scheduler()
        assert scheduler.get_pending_job(401) == kept
        assert scheduler.get_pending_job(402) is None
        # Not visible any more, yet the persisted UIJ runs again after the restart.
        second.wait_running(401)
        assert second.worker_pid() != old_worker
        wait_for(lambda: read_log(log).count("start 401 run") == 2, what="job 401 to restart")
        assert read_log(log).count("start 402 run") == 1
        assert not [line for line in read_log(log) if line.startswith("stop ")]
    finally:
        second.stop()


def test_graceful_shutdown_stops_running_jobs_and_keeps_persisted_ones(tmp_path: Path) -> None:
    home, log = tmp_path / "home", tmp_path / "app.log"
    home.mkdir()
    with running_daemon(home) as first:
        first.install(SAMPLE_DIR)
        scheduler = first.scheduler()
        with scheduler.activity():
            assert scheduler.schedule(uij(403, "run", log, persisted=True)) == 1
        first.wait_running(403)
    # SIGTERM: on_stop_job with a system reason (DEVICE_STATE 4), then the daemon exits cleanly.
    assert first.returncode == 0, first.output()
    assert [line.split()[:3] for line in read_log(log) if line.startswith("stop ")] == [
        ["stop", "403", "4"]
    ]
    assert not (home / "uidt.sock").exists()
    assert not (home / "daemon.pid").exists()
    with running_daemon(home) as second:
        second.wait_running(403)


def test_jobs_whose_schedule_answered_survive_an_immediate_kill_9(tmp_path: Path) -> None:
    """The daemon only queues store writes, but the API answers once they are committed."""
    home = tmp_path / "home"
    home.mkdir()
    later = [  # persisted, due in an hour: nothing but the store write happens
        JobInfo.Builder(job_id, SAMPLE_SERVICE)
        .set_persisted(True)
        .set_minimum_latency(3_600_000)
        .set_extras({"n": job_id})
        .build()
        for job_id in range(501, 521)
    ]
    with running_daemon(home) as first:
        first.install(SAMPLE_DIR)
        scheduler = first.scheduler()
        for job in later:
            assert scheduler.schedule(job) == JobScheduler.RESULT_SUCCESS
        first.kill9()  # at once: no time for a write nobody waited for
        assert first.returncode == -9
    # What the next daemon loads (it may run and finish them at once, so ask the store).
    with SqliteJobStore(home / "uidt.db") as store:
        loaded = {r.key.job_id: r.job for r in store.load_jobs() if r.key.app == SAMPLE}
    assert [loaded.get(job.job_id) for job in later] == later
    with running_daemon(home) as second:
        known = {j["job_id"] for j in second.jobs(include_ended=True) if j["app"] == SAMPLE}
        assert {job.job_id for job in later} <= known


def _stored_notifications(home: Path) -> list[int]:
    with SqliteJobStore(home / "uidt.db") as store:
        return sorted(n.notification_id for n in store.notifications())


def _notes(daemon: Daemon) -> dict[int, dict[str, object]]:
    return {n["id"]: n for n in daemon.dumpsys()["notifications"]}


def test_notifications_after_a_daemon_restart(tmp_path: Path) -> None:
    """An ended job's detached notification survives the restart; a cut run's does not linger,
    and its persisted job shows its notification again once it runs again."""
    home, log = tmp_path / "home", tmp_path / "app.log"
    home.mkdir()
    done = (
        JobInfo.Builder(411, SAMPLE_SERVICE)
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.ANY)
        .set_extras({"mode": "finish", "log": str(log), "end_policy": 0})  # DETACH
        .build()
    )
    with running_daemon(home) as first:
        first.install(SAMPLE_DIR)
        scheduler = first.scheduler()
        with scheduler.activity():
            assert scheduler.schedule(done) == JobScheduler.RESULT_SUCCESS
            assert scheduler.schedule(uij(412, "run", log, persisted=True)) == 1
        first.wait_running(412)
        wait_for(lambda: 411 in _notes(first), what="job 411's detached notification")
        assert _notes(first)[411]["user_initiated_job"] is False
        assert _notes(first)[412]["user_initiated_job"] is True
        # Notification writes are queued (no caller waits for them): wait for the commit.
        wait_for(lambda: _stored_notifications(home) == [411, 412], what="the store's commit")
        first.kill9()

    with running_daemon(home) as second:
        restored = _notes(second)[411]
        assert (restored["title"], restored["user_initiated_job"]) == ("job 411", False)
        second.wait_running(412)
        wait_for(
            lambda: _notes(second).get(412, {}).get("user_initiated_job") is True,
            what="job 412 to post its notification again",
        )
        assert read_log(log).count("start 412 run") == 2
