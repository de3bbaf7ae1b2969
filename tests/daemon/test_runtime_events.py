"""The runtime's one road into the core: ``on_host_event`` → ``apply`` → ``handle``, then flush."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from uidt.daemon.runtime import Runtime
from uidt.device.fake import FakeDeviceSource
from uidt.errors import InvalidJobError
from uidt.job import JobInfo, PendingReason
from uidt.job.notification import EndPolicy, Notification
from uidt.packages.manifest import load_manifest
from uidt.server import JobSchedulerService
from uidt.server import events as ev
from uidt.settings import Settings
from uidt.store.memory import MemoryJobStore
from uidt.testing import FakeClock

MANIFEST = Path(__file__).parents[1] / "host" / "apps" / "hosttest" / "uidt.toml"
APP = "org.test.host"
SERVICE = "host_app:ModeService"


class FakeHost:
    """Records what the runtime asks of the app host."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def bind(self, manifest: Any) -> None:
        self.calls.append(("bind", manifest.package))

    async def start_job(self, app: str, run_id: int, service: str, params: Any) -> None:
        self.calls.append(("start", app, run_id))

    async def stop_job(self, app: str, run_id: int, *reasons: Any) -> None:
        self.calls.append(("stop", app, run_id))

    async def kill(self, app: str) -> None:
        self.calls.append(("kill", app))

    async def unbind(self, app: str) -> None:
        self.calls.append(("unbind", app))


async def _until(done: Callable[[], bool]) -> None:
    for _ in range(1000):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError("the host was never asked")


async def _running(runtime: Runtime, host: FakeHost) -> int:
    """A regular job of the test app, bound and started: its run id."""
    runtime.apps.install(load_manifest(MANIFEST))
    runtime.schedule(APP, None, JobInfo.Builder(1, SERVICE).build(), None, peer_pid=None)
    await _until(lambda: ("bind", APP) in host.calls)
    runtime.on_host_event(ev.Bound(APP))
    await _until(lambda: any(c[0] == "start" for c in host.calls))
    run_id: int = next(c[2] for c in host.calls if c[0] == "start")
    runtime.on_host_event(ev.StartResult(APP, run_id, True))
    return run_id


@pytest.fixture
def parts() -> tuple[Runtime, FakeHost]:
    clock = FakeClock()
    device = FakeDeviceSource()
    service = JobSchedulerService(
        clock=clock, settings=Settings(), device=device.snapshot(), installed_memory_bytes=8 << 30
    )
    host = FakeHost()
    store = MemoryJobStore()
    runtime = Runtime(service=service, store=store, host=host, device=device, clock=clock)
    runtime.load()
    return runtime, host


async def test_a_crash_is_kept_by_the_core_and_the_worker_is_killed(
    parts: tuple[Runtime, FakeHost],
) -> None:
    runtime, host = parts
    run_id = await _running(runtime, host)
    runtime.on_host_event(ev.JobCrashed(APP, run_id, "on_start_job", "Traceback …", "E", "boom"))
    await _until(lambda: ("kill", APP) in host.calls)
    assert runtime.crashes[-1]["run_id"] == run_id
    (job,) = runtime.jobs_snapshot(APP, include_finished=False)
    assert job["last_crash"]["message"] == "boom"


async def test_a_refused_notification_raises_and_still_flushes(
    parts: tuple[Runtime, FakeHost],
) -> None:
    runtime, host = parts
    run_id = await _running(runtime, host)
    version = runtime.changes.version
    with pytest.raises(InvalidJobError):
        runtime.on_host_event(
            ev.NotificationSet(APP, run_id, 1, Notification("undeclared", "t"), EndPolicy.REMOVE)
        )
    assert runtime.changes.version > version


async def test_a_finished_run_answers_the_graceful_stop(parts: tuple[Runtime, FakeHost]) -> None:
    runtime, host = parts
    run_id = await _running(runtime, host)
    stopping = asyncio.get_running_loop().create_task(runtime.shutdown.stop_running_jobs(10))
    await _until(lambda: ("stop", APP, run_id) in host.calls)
    assert not stopping.done()
    runtime.on_host_event(ev.StopResult(APP, run_id, True))
    await asyncio.wait_for(stopping, 10)


async def test_once_the_shutdown_is_under_way_nothing_is_bound_or_started(
    parts: tuple[Runtime, FakeHost],
) -> None:
    runtime, host = parts
    run_id = await _running(runtime, host)
    stopping = asyncio.get_running_loop().create_task(runtime.shutdown.stop_running_jobs(10))
    await _until(lambda: ("stop", APP, run_id) in host.calls)
    runtime.on_host_event(ev.ProcessDied(APP, -9))  # the worker died: the stop is answered
    await asyncio.wait_for(stopping, 10)
    calls = len(host.calls)
    runtime.schedule(APP, None, JobInfo.Builder(2, SERVICE).build(), None, peer_pid=None)
    for _ in range(20):
        await asyncio.sleep(0)
    assert host.calls[calls:] == []  # the job waits for the next daemon


async def test_a_job_scheduled_during_the_shutdown_reads_pending_never_active(
    parts: tuple[Runtime, FakeHost], caplog: pytest.LogCaptureFixture
) -> None:
    runtime, host = parts
    run_id = await _running(runtime, host)
    calls = len(host.calls)
    caplog.set_level(logging.INFO, logger="uidt.daemon")
    runtime.shutdown.request()
    stopping = asyncio.get_running_loop().create_task(runtime.shutdown.stop_running_jobs(10))
    await _until(lambda: ("stop", APP, run_id) in host.calls)
    # scheduled while the graceful stop waits for the running job's answer
    result = runtime.schedule(APP, None, JobInfo.Builder(2, SERVICE).build(), None, peer_pid=None)
    assert result == 1  # RESULT_SUCCESS, as before the shutdown
    runtime.on_host_event(ev.StopResult(APP, run_id, True))  # stopped, wants to run again
    await asyncio.wait_for(stopping, 10)
    jobs = {job["job_id"]: job for job in runtime.jobs_snapshot(APP, include_finished=False)}
    for job_id in (1, 2):  # neither runs before the daemon exits, so neither reads active
        assert jobs[job_id]["state"] == "pending"
        assert jobs[job_id]["pending_reasons"] == [int(PendingReason.SYSTEM_STOPPING)]
    # both stay in the store, as they were scheduled (the next daemon runs a persisted one)
    await asyncio.wait_for(runtime.store.sync(), 10)
    assert sorted(r.key.job_id for r in runtime.store.store.jobs()) == [1, 2]
    # the core asked for no bind or start: the runtime's second guard had nothing to refuse
    assert not [c for c in host.calls[calls:] if c[0] in ("bind", "start")]
    assert "not carrying out" not in caplog.text
