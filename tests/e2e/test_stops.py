"""Device changes and ``uidt cmd`` verbs stop running jobs with Android's reasons."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt import JobScheduler, NetworkType, StopReason

from .conftest import SAMPLE, Daemon, read_log, uij, wait_for


@pytest.fixture(autouse=True)
def _fresh_device(daemon: Daemon) -> Iterator[None]:
    """Every test starts from the neutral fake device and leaves no jobs behind."""
    yield
    daemon.shell("device", "reset")
    daemon.shell("cancel", SAMPLE)
    wait_for(
        lambda: not any(j["state"] == "active" for j in daemon.jobs(include_ended=False)),
        what="no running jobs",
    )


def start_running(daemon: Daemon, job_id: int, log: Path, **kwargs: object) -> JobScheduler:
    scheduler = daemon.scheduler()
    with scheduler.activity():
        result = scheduler.schedule(uij(job_id, "run", log, **kwargs))  # type: ignore[arg-type]
    assert result == JobScheduler.RESULT_SUCCESS
    daemon.wait_running(job_id)
    return scheduler


def stop_lines(log: Path, job_id: int) -> list[str]:
    return [line for line in read_log(log) if line.startswith(f"stop {job_id} ")]


def test_connectivity_loss_stops_with_reason_7_and_the_job_comes_back(
    daemon: Daemon, app_log: Path
) -> None:
    start_running(daemon, 201, app_log)

    daemon.shell("device", "set", "network=none")
    job = daemon.wait_job(201, lambda j: j["state"] != "active", "stopped")
    assert job["stop_reason"] == StopReason.CONSTRAINT_CONNECTIVITY == 7
    wait_for(lambda: stop_lines(app_log, 201), what="on_stop_job")
    assert stop_lines(app_log, 201)[0].startswith("stop 201 7 ")
    assert daemon.shell("get-job-state", SAMPLE, "201") in ("waiting", "ready")

    daemon.shell("device", "reset")
    daemon.wait_running(201)
    assert read_log(app_log).count("start 201 run") == 2


def test_metered_network_stops_an_unmetered_job(daemon: Daemon, app_log: Path) -> None:
    start_running(daemon, 202, app_log, network=NetworkType.UNMETERED)
    daemon.shell("device", "set", "metered=true")
    job = daemon.wait_job(202, lambda j: j["state"] != "active", "stopped")
    assert job["stop_reason"] == StopReason.CONSTRAINT_CONNECTIVITY
    wait_for(lambda: stop_lines(app_log, 202), what="on_stop_job")
    assert stop_lines(app_log, 202)[0].startswith("stop 202 7 ")


def test_thermal_severe_stops_with_reason_4(daemon: Daemon, app_log: Path) -> None:
    start_running(daemon, 203, app_log)
    daemon.shell("device", "set", "thermal=severe")
    job = daemon.wait_job(203, lambda j: j["state"] != "active", "stopped")
    assert job["stop_reason"] == StopReason.DEVICE_STATE == 4
    wait_for(lambda: stop_lines(app_log, 203), what="on_stop_job")
    assert stop_lines(app_log, 203)[0].startswith("stop 203 4 ")


def test_cmd_timeout_stops_with_reason_3(daemon: Daemon, app_log: Path) -> None:
    start_running(daemon, 204, app_log)
    done = daemon.cmd("timeout", SAMPLE, "204")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Stopping job: ")
    wait_for(lambda: stop_lines(app_log, 204), what="on_stop_job")
    assert stop_lines(app_log, 204)[0].startswith("stop 204 3 ")
    job = daemon.wait_job(204, lambda j: j["stop_reason"] == 3, "stop reason 3")
    assert job["internal_stop_reason"] == 3


def test_cmd_stop_without_matching_jobs(daemon: Daemon) -> None:
    done = daemon.cmd("stop", SAMPLE, "299")
    assert done.returncode == 0
    assert done.stdout.strip() == "No matching executing jobs found."


def test_cmd_run_needs_force_when_the_network_is_down(daemon: Daemon, app_log: Path) -> None:
    daemon.shell("device", "set", "network=none")
    scheduler = daemon.scheduler()
    with scheduler.activity():
        assert scheduler.schedule(uij(205, "run", app_log)) == JobScheduler.RESULT_SUCCESS
    assert daemon.cmd("get-job-state", SAMPLE, "205").stdout.strip() == "waiting"

    refused = daemon.cmd("run", SAMPLE, "205")
    assert refused.returncode == 5
    assert refused.stderr.strip() == (
        f"Job 205 in package {SAMPLE} / user 0 has functional constraints but --force not specified"
    )
    assert "start 205 run" not in read_log(app_log)

    forced = daemon.cmd("run", "-f", SAMPLE, "205")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.strip() == "Running job [FORCED]"
    daemon.wait_running(205)
    assert "start 205 run" in read_log(app_log)
    assert daemon.cmd("get-job-state", SAMPLE, "205").stdout.split()[0] == "active"


def test_cmd_run_usage_and_unknown_job(daemon: Daemon) -> None:
    both = daemon.cmd("run", "-f", "-s", SAMPLE, "1")
    assert both.returncode != 0
    assert "Cannot specify both --force and --satisfied" in both.stderr
    missing = daemon.cmd("run", SAMPLE, "298")
    assert missing.returncode == 4  # CMD_ERR_NO_JOB (-1001)
    assert "Could not find job 298" in missing.stderr
    no_package = daemon.cmd("run", "org.example.nothing", "1")
    assert no_package.returncode == 3  # CMD_ERR_NO_PACKAGE (-1000)
    unknown = daemon.cmd("run", "--bogus", SAMPLE, "1")
    assert unknown.returncode == 1
    assert "Error: unknown option '--bogus'" in unknown.stderr
    assert daemon.cmd("run").returncode == 2


def test_byte_getters_report_the_running_jobs_numbers(daemon: Daemon, app_log: Path) -> None:
    start_running(daemon, 206, app_log)
    expected = {  # the sample app reports estimated (1000, -1) and transferred (10, 0)
        "get-estimated-download-bytes": "1000",
        "get-estimated-upload-bytes": "-1",
        "get-transferred-download-bytes": "10",
        "get-transferred-upload-bytes": "0",
    }

    def answers() -> dict[str, str]:
        return {verb: daemon.shell(verb, SAMPLE, "206") for verb in expected}

    wait_for(lambda: answers() == expected, what="the byte getters")


def test_device_getters_follow_the_overrides(daemon: Daemon) -> None:
    assert daemon.shell("get-battery-charging") == "true"
    assert daemon.shell("get-storage-not-low") == "true"
    shown = daemon.cmd("device", "set", "plugged=false", "battery_level=5", "storage_low=true")
    assert shown.returncode == 0, shown.stderr
    assert "battery_level=5 (override)" in shown.stdout
    assert daemon.shell("get-battery-charging") == "false"
    assert daemon.shell("get-battery-not-low") == "false"
    assert daemon.shell("get-storage-not-low") == "false"
    bad = daemon.cmd("device", "set", "nonsense")
    assert bad.returncode == 2
