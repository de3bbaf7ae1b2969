"""End to end: a real daemon reading a fixture /sys and /proc stops an unmetered-only job when the
default route moves to a cellular (metered) interface (issue 8)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt import JobInfo, JobScheduler, NetworkType, StopReason
from uidt.app.connection import DaemonConnection
from uidt.home.paths import resolve_paths

from .tree import add_interface, route_line, set_routes

SAMPLE_APP = Path(__file__).parents[1] / "apps" / "sample"


def _wait(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)  # noqa: TID251 - polling a real daemon with a deadline
    raise AssertionError(f"condition not reached in {timeout} s (last: {value!r})")


@pytest.fixture
def daemon(tmp_path: Path, root: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    env = dict(os.environ, UIDT_DEVICE_ROOT=str(root))
    proc = subprocess.Popen(
        [sys.executable, "-m", "uidt", "--home", str(home), "daemon", "--foreground"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conn = DaemonConnection(resolve_paths(home), autostart=False)

    def up() -> bool:
        try:
            conn.request("GET", "/v1/ping")
        except OSError:
            return False
        return True

    try:
        _wait(up)
        subprocess.run(
            [sys.executable, "-m", "uidt", "--home", str(home), "apps", "install", str(SAMPLE_APP)],
            check=True,
            capture_output=True,
        )
        yield home
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_metered_route_stops_a_running_unmetered_job(
    daemon: Path, root: Path, tmp_path: Path
) -> None:
    # Given a user-initiated job that needs an unmetered network, executing in its app, on eth0
    app_log = tmp_path / "app.log"
    scheduler = JobScheduler("org.example.sample", home=daemon)
    job = (
        JobInfo.Builder(7, "sample_app:SampleService")
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.UNMETERED)
        .set_extras({"mode": "run", "log": str(app_log)})
        .build()
    )
    with scheduler.activity():
        assert scheduler.schedule(job) == JobScheduler.RESULT_SUCCESS
    conn = DaemonConnection(resolve_paths(daemon), autostart=False)

    def job7() -> dict:  # type: ignore[type-arg]
        jobs = conn.request("GET", "/v1/jobs", query={"app": "org.example.sample"})["jobs"]
        return next(j for j in jobs if j["job_id"] == 7)

    # "active" is the daemon's record from the moment it starts binding the app's worker; on a
    # loaded machine the route may change before on_start_job ran, and a run stopped then is
    # simply requeued without a stop reason. The app's notification says it is executing.
    _wait(lambda: (j := job7())["state"] == "active" and j["notification"] is not None)

    # When the default route moves to a cellular modem (metered)
    add_interface(root, "wwan0")
    set_routes(root, route_line("wwan0", "00000000", 0))

    # Then the app is stopped with CONSTRAINT_CONNECTIVITY and the job waits for an unmetered
    # network (the stop reason is set when the stop begins; the state changes once the app has
    # stopped). How soon: the network is polled every second (test_linux.py); a test on a shared
    # machine cannot time it.
    stopped = _wait(lambda: (j := job7())["stop_reason"] == 7 and j["state"] != "active" and j)
    assert stopped["state"] != "active"
    assert 6 in stopped["pending_reasons"]
    assert "CONSTRAINT_CONNECTIVITY" in stopped["history"][-1]["reason"]
    assert f"stop 7 {StopReason.CONSTRAINT_CONNECTIVITY.value}" in app_log.read_text()
