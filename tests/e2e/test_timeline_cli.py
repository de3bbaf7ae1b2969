"""``uidt timeline JOB -o OUT.svg``: a real job's picture, from a real daemon's history."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from uidt.errors import UidtError

from .conftest import SAMPLE, Daemon, uij, wait_for

SVG = "{http://www.w3.org/2000/svg}"


def _texts(path: Path) -> str:
    root = ET.parse(path).getroot()
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def test_a_job_stopped_for_the_network_is_drawn_with_its_stop_and_wait(
    daemon: Daemon, tmp_path: Path
) -> None:
    log = tmp_path / "app.log"
    with daemon.scheduler().activity():
        assert daemon.scheduler().schedule(uij(4300, "run", log)) == 1
    daemon.wait_running(4300)
    try:
        daemon.shell("device", "set", "network=none")
        wait_for(lambda: (daemon.job(4300) or {}).get("state") == "waiting", what="the job waiting")
        out = tmp_path / "job.svg"
        done = daemon.uidt("timeline", "4300", "--app", SAMPLE, "-o", str(out))
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"drew the timeline of job 4300 of {SAMPLE} into {out}"
        texts = _texts(out)
        assert f"uidt job {SAMPLE}/4300" in texts
        assert "the network was lost or no longer suited the job" in texts
        assert "CONSTRAINT_CONNECTIVITY (CONSTRAINTS_NOT_SATISFIED)" in texts
        assert "times: local time" in texts
        # the device lane the job's network constraint depends on, from the daemon's readings
        assert "network" in texts.splitlines()
        assert "no network" in texts
    finally:
        daemon.shell("device", "reset")
        daemon.api("DELETE", f"/v1/apps/{SAMPLE}/jobs/4300")


def test_an_unknown_job_is_one_clear_error_and_no_file(daemon: Daemon, tmp_path: Path) -> None:
    out = tmp_path / "job.svg"
    done = daemon.uidt("timeline", "999999", "--app", SAMPLE, "-o", str(out))
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: no job 999999 of {SAMPLE} (see `uidt jobs --all`)"
    assert not out.exists()


def test_the_daemon_keeps_a_device_change_with_its_time(daemon: Daemon) -> None:
    before = daemon.api("GET", "/v1/device/history")["readings"]
    try:
        daemon.shell("device", "set", "thermal=severe")
        after = daemon.api("GET", "/v1/device/history")["readings"]
        assert after[-1]["thermal"] == "severe"
        assert after[-1]["at_utc_ms"] >= (before[-1]["at_utc_ms"] if before else 0)
        # asked from now on: the reading that says what the device is now, nothing older
        newest = daemon.api("GET", "/v1/device/history", since_utc_ms=after[-1]["at_utc_ms"] + 1)
        assert newest["readings"] == after[-1:]
    finally:
        daemon.shell("device", "reset")


def test_a_device_history_asked_from_a_time_that_is_not_a_number_is_refused(
    daemon: Daemon,
) -> None:
    with pytest.raises(UidtError, match="since_utc_ms must be a whole number, not 'yesterday'"):
        daemon.api("GET", "/v1/device/history", since_utc_ms="yesterday")
