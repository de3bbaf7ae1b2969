"""The schedule request's answer: generation, attach, replaced (a stand-in runtime on a real core)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from uidt.daemon import tracking
from uidt.daemon.keyedlocks import KeyedLocks
from uidt.daemon.runtime import Runtime
from uidt.daemon.tracking import schedule_tracked
from uidt.device.state import DeviceState
from uidt.errors import InvalidJobError
from uidt.job import JobInfo, JobWorkItem, NetworkType
from uidt.server import AppInfo, Caller, JobSchedulerService
from uidt.settings import Settings
from uidt.testing import FakeClock

APP = "org.example.photos"
SERVICE = "photos.sync:UploadService"


class StandInApps:
    """The one installed app (``runtime.apps``)."""

    def require(self, app: str) -> None:
        if app != APP:
            raise InvalidJobError(f"No such app: {app}")


class StandIn:
    """The runtime members ``schedule_tracked`` uses."""

    def __init__(self) -> None:
        self.apps = StandInApps()
        self.schedule_locks = KeyedLocks()
        self.service = JobSchedulerService(
            clock=FakeClock(),
            settings=Settings(),
            device=DeviceState(),
            installed_memory_bytes=16 * 1024**3,
            apps={
                APP: AppInfo(
                    package=APP,
                    services={SERVICE: "BIND_JOB_SERVICE"},
                    permissions=frozenset({"RUN_USER_INITIATED_JOBS"}),
                    channels=frozenset({"transfers"}),
                )
            },
        )


async def _schedule_at_once(
    rt: StandIn, app: str, namespace: str | None, job: JobInfo, work: Any, **_: Any
) -> int:
    """``schedule_durably`` without a store: these tests are about the answer."""
    rt.apps.require(app)
    return rt.service.schedule(Caller(app, visible=True), namespace, job, work)


@pytest.fixture(autouse=True)
def _no_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracking, "schedule_durably", _schedule_at_once)


def _job(url: str) -> JobInfo:
    return (
        JobInfo.Builder(1, SERVICE)
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.ANY)
        .set_extras({"url": url})
        .build()
    )


async def _schedule(rt: StandIn, job: JobInfo, *, attach: bool, work: Any = None) -> dict[str, Any]:
    return await schedule_tracked(
        cast(Runtime, rt), APP, None, job, work, peer_pid=None, attach=attach
    )


async def test_a_new_job_names_its_generation() -> None:
    rt = StandIn()
    answer = await _schedule(rt, _job("a"), attach=True)
    assert answer == {"result": 1, "generation": 1, "attached": False, "replaced": None}


async def test_the_same_job_with_attach_is_kept_not_replaced() -> None:
    rt = StandIn()
    first = await _schedule(rt, _job("a"), attach=True)
    again = await _schedule(rt, _job("a"), attach=True)
    assert again == {
        "result": 1,
        "generation": first["generation"],
        "attached": True,
        "replaced": None,
    }
    assert not rt.service.ended  # nothing was cancelled


async def test_without_attach_the_same_job_is_replaced_as_on_android() -> None:
    rt = StandIn()
    await _schedule(rt, _job("a"), attach=False)
    again = await _schedule(rt, _job("a"), attach=False)
    assert again["attached"] is False
    assert again["replaced"]["generation"] == 1
    assert again["generation"] == 2


async def test_another_job_under_the_id_replaces_and_names_the_earlier_one() -> None:
    rt = StandIn()
    await _schedule(rt, _job("a"), attach=True)
    answer = await _schedule(rt, _job("b"), attach=True)
    assert answer["generation"] == 2
    assert answer["replaced"]["generation"] == 1
    assert answer["replaced"]["job"]["extras"] == {"url": "a"}
    assert rt.service.ended[-1]["state"] == "cancelled"


async def test_work_is_appended_not_attached() -> None:
    rt = StandIn()
    job = _job("a")
    await _schedule(rt, job, attach=True, work=JobWorkItem())
    answer = await _schedule(rt, job, attach=True, work=JobWorkItem())
    assert answer == {"result": 1, "generation": 1, "attached": False, "replaced": None}


async def test_an_unknown_app_is_refused_before_anything() -> None:
    with pytest.raises(InvalidJobError, match="No such app"):
        await schedule_tracked(
            cast(Runtime, StandIn()), "no.app", None, _job("a"), None, peer_pid=None, attach=True
        )


async def test_two_schedules_of_the_same_job_at_once_attach_the_second_to_the_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job is stored before the core takes it in: while the first request waits for its
    commit, the second must not find "no such job" and schedule it again (which would replace
    the first and end the first caller's job as cancelled)."""
    commit = asyncio.Event()

    async def slow_commit(rt: StandIn, *args: Any, **kwargs: Any) -> int:
        await commit.wait()  # the store's write, still under way
        return await _schedule_at_once(rt, *args, **kwargs)

    monkeypatch.setattr(tracking, "schedule_durably", slow_commit)
    rt = StandIn()
    first = asyncio.create_task(_schedule(rt, _job("a"), attach=True))
    second = asyncio.create_task(_schedule(rt, _job("a"), attach=True))
    for _ in range(5):
        await asyncio.sleep(0)  # both requests are in, the first waits for its commit
    commit.set()
    one, two = await first, await second
    assert one == {"result": 1, "generation": 1, "attached": False, "replaced": None}
    assert two == {"result": 1, "generation": 1, "attached": True, "replaced": None}
    assert not rt.service.ended  # nothing was cancelled
    assert len(rt.schedule_locks) == 0  # no lock kept per job


async def test_schedules_of_different_jobs_do_not_wait_for_each_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held = asyncio.Event()

    async def held_commit(rt: StandIn, app: str, ns: Any, job: JobInfo, *a: Any, **k: Any) -> int:
        if job.job_id == 1:
            await held.wait()
        return await _schedule_at_once(rt, app, ns, job, *a, **k)

    monkeypatch.setattr(tracking, "schedule_durably", held_commit)
    rt = StandIn()
    first = asyncio.create_task(_schedule(rt, _job("a"), attach=True))
    other = JobInfo.Builder(2, SERVICE).set_user_initiated(True).set_extras({"url": "b"})
    answer = await asyncio.wait_for(
        _schedule(rt, other.set_required_network_type(NetworkType.ANY).build(), attach=True), 5
    )
    assert answer["result"] == 1
    held.set()
    assert (await first)["result"] == 1
