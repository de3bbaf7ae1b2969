"""The launchers: the subprocess command line and environment, and the in-process worker."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from uidt.host.apphost import AppHost
from uidt.host.command import DAEMON_PID_ENV
from uidt.host.events import Bound, EventQueue, Finished, ProcessDied, StartResult
from uidt.host.launcher import InProcessLauncher, SubprocessLauncher
from uidt.packages.manifest import Manifest

from .conftest import APP, APPS, log_lines, next_event, params


def test_the_worker_command_uses_the_apps_interpreter(manifest: Manifest) -> None:
    launcher = SubprocessLauncher(extra_env={"X_TEST": "1"})
    command = launcher.command(manifest, 5, 2.5)
    assert command[:3] == [manifest.python, "-m", "uidt.host.worker"]
    assert command[3:9] == ["--fd", "5", "--app", APP, "--channels", "work"]
    assert command[9:11] == ["--idle-timeout", "2.5"]
    assert command[11] == "--preload"
    assert command[12].split(",") == [s.name for s in manifest.services]
    env = launcher.environment(manifest)
    assert env["PYTHONPATH"].split(":")[0] == str(APPS / "hosttest")
    assert env["X_TEST"] == "1"
    assert manifest.python == sys.executable
    # a later run finding a part file locked by this worker tells whether its daemon is gone
    assert env[DAEMON_PID_ENV] == str(os.getpid())


async def test_worker_logs_go_to_the_log_folder(manifest: Manifest, tmp_path: Path) -> None:
    events = EventQueue()
    host = AppHost(events, log_dir=tmp_path / "logs")
    try:
        await host.bind(manifest)
        await next_event(events, Bound)
    finally:
        await host.close()
    assert (tmp_path / "logs" / f"worker-{APP}.log").exists()


async def test_an_in_process_worker_runs_jobs_and_can_be_killed(
    manifest: Manifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(APPS / "hosttest"))
    events = EventQueue()
    host = AppHost(events, launcher=InProcessLauncher())
    try:
        await host.bind(manifest)
        await next_event(events, Bound)
        assert host.pid_of(APP) is None
        await host.start_job(APP, 1, "host_app:ModeService", params(1, 1, tmp_path))
        assert await next_event(events, Finished) == Finished(APP, 1, False)
        assert await next_event(events, StartResult) == StartResult(APP, 1, True)
        assert await host.ping(APP) < 5
        await host.kill(APP)
        assert await next_event(events, ProcessDied) == ProcessDied(APP, -signal.SIGKILL)
    finally:
        await host.close()
    assert log_lines(tmp_path, 1) == ["start 1 finish"]


async def test_an_idle_in_process_worker_ends(manifest: Manifest) -> None:
    events = EventQueue()
    host = AppHost(events, launcher=InProcessLauncher(), idle_timeout_s=0.05)
    try:
        await host.bind(manifest)
        await next_event(events, Bound)
        assert await next_event(events, ProcessDied) == ProcessDied(APP, 0)
    finally:
        await host.close()
