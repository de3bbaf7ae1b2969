"""The scheduler core (FakeClock) driving real worker processes through a tiny loop."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

from uidt.device.state import DeviceState
from uidt.host.apphost import AppHost
from uidt.host.events import EventQueue, HostEvent, JobCrashed, StartResult
from uidt.job import JobInfo, NetworkType
from uidt.job.reasons import StopReason
from uidt.packages.manifest import Manifest
from uidt.server import AppInfo, Caller, JobSchedulerService
from uidt.server import actions as act
from uidt.settings import Settings
from uidt.testing import FakeClock

from .conftest import APP, log_lines

MODE = "host_app:ModeService"


class Loop:
    """Carries the core's actions to the host and the host's facts to the core."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.core = JobSchedulerService(
            clock=FakeClock(),
            settings=Settings(),
            device=DeviceState(),
            installed_memory_bytes=8 << 30,
            apps={
                APP: AppInfo(
                    package=APP,
                    services={s.name: s.permission for s in manifest.services},
                    permissions=frozenset(manifest.permissions),
                    channels=frozenset(c.id for c in manifest.channels),
                )
            },
        )
        self.events = EventQueue()
        self.host = AppHost(self.events, idle_timeout_s=30)
        self.seen: list[HostEvent] = []

    async def pump(self) -> None:
        for action in self.core.take_actions():
            match action:
                case act.BindApp():
                    await self.host.bind(self.manifest)
                case act.StartJob(run_id=run_id, key=key, service=service, params=params):
                    await self.host.start_job(key.app, run_id, service, params)
                case act.StopJob(run_id=run_id, key=key, stop_reason=r, internal_reason=ir):
                    await self.host.stop_job(key.app, run_id, r, ir)
                case act.KillApp(app=app):
                    await self.host.kill(app)

    async def until(self, done: Callable[[], bool]) -> None:
        """Feed facts to the core until ``done()``."""
        await self.pump()
        while not done():
            event = await self.events.get(10)
            self.seen.append(event)
            self.core.handle(event)
            if isinstance(event, JobCrashed):  # what the daemon does with a crash
                await self.host.kill(event.app)
            await self.pump()


def _job(job_id: int, folder: Path, mode: str) -> JobInfo:
    return (
        JobInfo.Builder(job_id, MODE)
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.ANY)
        .set_extras({"dir": str(folder), "mode": mode})
        .build()
    )


def _active(loop: Loop, job_id: int) -> bool:
    return "active" in loop.core.commands.get_job_state(APP, None, job_id).output.split()


async def test_a_job_runs_in_a_worker_and_finishes(manifest: Manifest, tmp_path: Path) -> None:
    loop = Loop(manifest)
    try:
        assert loop.core.schedule(Caller(APP, visible=True), None, _job(1, tmp_path, "finish"))
        await loop.until(lambda: loop.core.queries.get_pending_job(APP, None, 1) is None)
    finally:
        await loop.host.close()
    assert log_lines(tmp_path, 1)[0].endswith("finish")


async def test_a_sigkilled_worker_gets_its_job_rescheduled(
    manifest: Manifest, tmp_path: Path
) -> None:
    loop = Loop(manifest)

    def runs() -> list[int]:
        return [e.run_id for e in loop.seen if isinstance(e, StartResult)]

    try:
        loop.core.schedule(Caller(APP, visible=True), None, _job(1, tmp_path, "run"))
        await loop.until(lambda: len(runs()) == 1)
        assert _active(loop, 1)
        pid = loop.host.pid_of(APP)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        # rescheduled: the core starts it again, in a new worker, as a new run
        await loop.until(lambda: len(runs()) == 2)
        assert loop.host.pid_of(APP) not in (None, pid)
    finally:
        await loop.host.close()
    first, second = runs()
    assert log_lines(tmp_path, 1) == [f"start {first} run", f"start {second} run"]  # no stop


async def test_a_task_manager_stop_ends_both_jobs_without_on_stop_job(
    manifest: Manifest, tmp_path: Path
) -> None:
    loop = Loop(manifest)
    try:
        for job_id in (1, 2):
            loop.core.schedule(Caller(APP, visible=True), None, _job(job_id, tmp_path, "run"))
        await loop.until(lambda: sum(isinstance(e, StartResult) for e in loop.seen) == 2)
        loop.core.user_stop(APP)
        await loop.until(lambda: not loop.core.running)
        snapshot = {
            j["job_id"]: j for j in loop.core.queries.jobs_snapshot(APP, include_ended=True)
        }
        for job_id in (1, 2):
            assert snapshot[job_id]["state"] == "user-stopped"
            assert snapshot[job_id]["stop_reason"] == StopReason.USER
            assert log_lines(tmp_path, job_id) == [f"start {job_id} run"]
    finally:
        await loop.host.close()


async def test_a_crash_in_on_start_job_kills_the_worker_and_reschedules(
    manifest: Manifest, tmp_path: Path
) -> None:
    loop = Loop(manifest)

    def crashes() -> list[JobCrashed]:
        return [e for e in loop.seen if isinstance(e, JobCrashed)]

    try:
        loop.core.schedule(Caller(APP, visible=True), None, _job(1, tmp_path, "raise"))

        def stops() -> int:
            return int(loop.core.queries.jobs_snapshot(APP)[0]["num_system_stops"])

        # it crashed, and crashed again on retry (and the second worker is gone)
        await loop.until(lambda: len(crashes()) == 2 and stops() == 2)
        assert crashes()[0].run_id != crashes()[1].run_id
        assert loop.core.queries.get_pending_job(APP, None, 1) is not None
        (job,) = loop.core.queries.jobs_snapshot(APP)
        assert job["last_crash"]["type"] == "RuntimeError"
        assert job["last_crash"]["message"] == "boom in on_start_job"
        assert job["last_crash"]["count"] == 2
        assert (job["num_failures"], job["num_system_stops"]) == (0, 2)
    finally:
        await loop.host.close()
