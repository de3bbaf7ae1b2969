"""An app whose ``on_start_job`` raises, against a real daemon and real worker processes: the job
restarts as AOSP restarts it after a process death (system stops; the third adds 30 s), and
``uidt jobs`` says why it keeps restarting."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from uidt import JobScheduler

from .conftest import SAMPLE, Daemon, read_log, uij, wait_for


def test_a_crashing_app_shows_its_last_crash_and_backs_off(
    daemon: Daemon, app_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # the table's rows on one line each
    # Given a user-initiated job whose on_start_job raises RuntimeError("boom in on_start_job")
    scheduler = daemon.scheduler()
    with scheduler.activity():
        assert scheduler.schedule(uij(401, "raise", app_log)) == JobScheduler.RESULT_SUCCESS
    try:
        # When it has crashed three times (two restarts come at once, as in AOSP)
        job = daemon.wait_job(401, lambda j: j["num_system_stops"] >= 3, "three crashes")
        # Then the counters are AOSP's: three system stops, no failure, one backoff step of 30 s
        assert (job["num_failures"], job["num_system_stops"]) == (0, 3)
        crash = job["last_crash"]
        assert crash is not None
        assert (crash["type"], crash["message"], crash["count"]) == (
            "RuntimeError",
            "boom in on_start_job",
            3,
        )
        crashed_at = datetime.fromisoformat(crash["time"])
        not_before = datetime.fromisoformat(job["earliest_run_time"])
        # (30 s from the worker's death, which follows the crash report: a loaded machine may
        # take a moment to kill it)
        assert timedelta(seconds=30) <= not_before - crashed_at <= timedelta(seconds=40)
        assert read_log(app_log).count("start 401 raise") == 3
        # and `uidt jobs` says why it keeps restarting, in words
        table = daemon.uidt("jobs", "--app", SAMPLE)
        assert table.returncode == 0, table.stderr
        assert "last crash: RuntimeError: boom in on_start_job (3 times)" in table.stdout
        listed = [j for j in daemon.uidt_json("jobs", "--json") if j["job_id"] == 401]
        assert listed[0]["last_crash"] == crash
    finally:
        daemon.shell("cancel", SAMPLE, "401")
    wait_for(
        lambda: daemon.job(401) is None or daemon.job(401)["state"] == "cancelled", what="gone"
    )
