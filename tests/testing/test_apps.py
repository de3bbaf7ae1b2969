"""The in-process app player and run_until_idle read as Given/When/Then."""

from __future__ import annotations

import pytest

from uidt.device.state import DeviceState
from uidt.job import JobInfo, NetworkType
from uidt.server import AppInfo, Caller, JobSchedulerService, KillApp, StartJob
from uidt.settings import Settings
from uidt.store.record import JobKey
from uidt.testing import AppBehaviour, FakeClock, InProcessApps, run_until_idle

APP = "org.example.app"


def service() -> JobSchedulerService:
    return JobSchedulerService(
        clock=FakeClock(),
        settings=Settings(),
        device=DeviceState(),
        installed_memory_bytes=8 * 1024**3,
        apps={
            APP: AppInfo(
                APP,
                services={"m:S": "BIND_JOB_SERVICE"},
                permissions=frozenset({"RUN_USER_INITIATED_JOBS"}),
                channels=frozenset({"transfers"}),
            )
        },
    )


def job(job_id: int) -> JobInfo:
    return (
        JobInfo.Builder(job_id, "m:S")
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.ANY)
        .build()
    )


def test_default_app_runs_and_finishes_when_told() -> None:
    svc = service()
    svc.schedule(Caller(APP, visible=True), None, job(1))
    apps = InProcessApps(svc, lambda _k: AppBehaviour(finish=False))
    actions = run_until_idle(svc, apps)
    assert any(isinstance(a, StartJob) for a in actions)
    assert not svc.jobs
    assert apps.log == actions


def test_kill_ends_the_played_runs() -> None:
    svc = service()
    svc.schedule(Caller(APP, visible=True), None, job(1))
    apps = InProcessApps(svc)
    run_until_idle(svc, apps)
    assert apps.running
    apps(KillApp(APP, "test"))
    assert not apps.running


def test_behaviour_per_job_and_silent_binds() -> None:
    svc = service()
    svc.schedule(Caller(APP, visible=True), None, job(1))

    def behaviour(key: JobKey) -> AppBehaviour:
        return AppBehaviour(bind=None)

    run_until_idle(svc, InProcessApps(svc, behaviour))
    assert APP in svc.binding


def test_runaway_guard() -> None:
    svc = service()
    svc.schedule(Caller(APP, visible=True), None, job(1))
    with pytest.raises(RuntimeError, match="too many actions"):
        run_until_idle(svc, lambda _a: None, max_actions=0)
