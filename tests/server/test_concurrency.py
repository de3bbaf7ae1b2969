"""Concurrency (docs/android-semantics.md#concurrency): the limit, the reserved UI share, the max-wait bypass, privilege."""

from __future__ import annotations

from server.helpers import APP, BACKGROUND, GIB, VISIBLE, make_app, of_type, regular, uij
from uidt.device.state import DeviceState, MemoryPressure
from uidt.job import PendingReason
from uidt.server import Caller, JobSchedulerService, StartJob, StopJob
from uidt.settings import Settings
from uidt.testing import AppBehaviour, FakeClock, InProcessApps, run_until_idle

MIN = 60_000
OTHER = "org.example.other"


def make_service(clock: FakeClock, limit: int, **settings: object) -> JobSchedulerService:
    return JobSchedulerService(
        clock=clock,
        settings=Settings(concurrency_limit=limit, **settings),  # type: ignore[arg-type]
        device=DeviceState(),
        installed_memory_bytes=16 * GIB,
        apps={
            APP: make_app(),
            OTHER: make_app(OTHER, granted=frozenset({"START_FROM_BACKGROUND"})),
        },
    )


def test_regular_jobs_leave_the_reserved_ui_share(clock: FakeClock) -> None:
    service = make_service(clock, 10)
    for i in range(12):
        service.schedule(BACKGROUND, None, regular(i))
    run_until_idle(service)
    assert len(service.running) == 8  # 10 slots, 2 reserved for UIJs
    service.schedule(Caller(OTHER, False), None, uij(100))
    service.schedule(Caller(OTHER, False), None, uij(101))
    service.schedule(Caller(OTHER, False), None, uij(102))
    run_until_idle(service)
    assert len(service.running) == 10
    assert service.queries.get_pending_job_reason(OTHER, None, 102) is PendingReason.DEVICE_STATE


def test_uijs_go_first(clock: FakeClock) -> None:
    service = make_service(clock, 1)
    service.schedule(BACKGROUND, None, regular(1, requires_charging=True))
    service.schedule(Caller(OTHER, False), None, uij(2, requires_charging=True))
    service.on_device_state(DeviceState(charging=False))
    service.on_device_state(DeviceState())
    run_until_idle(service)
    assert [k.job_id for k in service.running] == [2]


def test_65_uijs_of_a_visible_app_all_start(clock: FakeClock) -> None:
    service = make_service(clock, 8)
    service.note_app_visible(APP, True)
    for i in range(65):
        service.schedule(VISIBLE, None, uij(i))
    starts = of_type(run_until_idle(service), StartJob)
    assert len(starts) == 65
    assert len(service.running) == 65


def test_background_uijs_respect_the_limit(clock: FakeClock) -> None:
    service = make_service(clock, 4)
    for i in range(6):
        service.schedule(Caller(OTHER, False), None, uij(i))
    run_until_idle(service)
    assert len(service.running) == 4


def test_memory_pressure_lowers_the_limit(clock: FakeClock) -> None:
    service = make_service(clock, 10)
    service.on_device_state(DeviceState(memory=MemoryPressure.CRITICAL))
    for i in range(6):
        service.schedule(Caller(OTHER, False), None, uij(i))
    run_until_idle(service)
    assert len(service.running) == 4
    assert service.queries.dump()["concurrency"]["max_total"] == 4


def test_max_wait_bypass_gives_one_extra_slot(clock: FakeClock) -> None:
    # Given the only slot held by a job whose app has not answered on_start_job yet
    service = make_service(clock, 1, op_timeout_ms=60 * MIN)
    apps = InProcessApps(
        service, lambda key: AppBehaviour(start_result=None if key.job_id == 1 else True)
    )
    service.schedule(BACKGROUND, None, regular(1))
    run_until_idle(service, apps)
    service.schedule(Caller(OTHER, False), None, uij(2))
    run_until_idle(service, apps)
    assert [k.job_id for k in service.running] == [1]
    # When the UIJ has waited 5 minutes, Then it gets one extra slot
    clock.advance(5 * MIN)
    assert service.next_wakeup() == clock.elapsed()
    service.tick()
    run_until_idle(service, apps)
    assert {k.job_id for k in service.running} == {1, 2}


def test_long_guarantee_ahead_bypasses_at_once(clock: FakeClock) -> None:
    service = make_service(clock, 1, runtime_min_guarantee_ms=60 * MIN)
    service.schedule(BACKGROUND, None, regular(1))
    run_until_idle(service)
    service.schedule(Caller(OTHER, False), None, uij(2))
    run_until_idle(service)
    assert {k.job_id for k in service.running} == {1, 2}


def test_running_job_past_guarantee_makes_room(clock: FakeClock) -> None:
    service = make_service(clock, 1)
    service.schedule(BACKGROUND, None, regular(1))
    run_until_idle(service)
    clock.advance(10 * MIN)
    service.schedule(BACKGROUND, None, regular(2))
    stops = of_type(service.take_actions(), StopJob)
    assert [s.key.job_id for s in stops] == [1]


def test_a_click_grant_starts_beyond_the_limit(clock: FakeClock) -> None:
    service = make_service(clock, 1)
    service.schedule(Caller(OTHER, False), None, uij(1))
    for i in (2, 3):
        service.schedule(Caller(APP, False, interaction_grant=True), None, uij(i))
    run_until_idle(service)
    assert len(service.running) == 3
