"""The in-process app player and run_until_idle read as Given/When/Then."""

from __future__ import annotations

import pytest

from uidt.device.state import DeviceState
from uidt.job import JobInfo, NetworkType
from uidt.job.key import JobKey
from uidt.server import AppInfo, Caller, JobSchedulerService, KillApp, StartJob
from uidt.settings import Settings
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


class _Burst:
    """A stand-in core holding many jobs that queued one big burst of actions."""

    def __init__(self, jobs: int, actions: int) -> None:
        self.jobs = dict.fromkeys(range(jobs))
        self._pending: list[object] = [object()] * actions

    def take_actions(self) -> list[object]:
        actions, self._pending = self._pending, []
        return actions


def test_the_default_guard_grows_with_the_jobs() -> None:
    """100,000 jobs queue 200,000 actions just by being scheduled: that is not ping-pong."""
    burst = _Burst(jobs=100_000, actions=200_001)
    assert len(run_until_idle(burst, lambda _a: None)) == 200_001  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="too many actions"):
        run_until_idle(_Burst(jobs=10, actions=100_001), lambda _a: None)  # type: ignore[arg-type]
