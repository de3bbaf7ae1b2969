"""Readiness and pending reasons (docs/android-semantics.md#when-a-job-is-ready-and-what-it-says-while-it-waits), with their history."""

from __future__ import annotations

import pytest

from server.helpers import APP, BACKGROUND, VISIBLE, regular, uij
from uidt.device.state import DeviceState, NetworkState, ThermalStatus
from uidt.job import NetworkType, PendingReason
from uidt.server import JobSchedulerService
from uidt.testing import FakeClock, run_until_idle

R = PendingReason


def reasons(service: JobSchedulerService, job_id: int = 1) -> list[PendingReason]:
    return service.queries.get_pending_job_reasons(APP, None, job_id)


def test_unknown_job(service: JobSchedulerService) -> None:
    assert service.queries.get_pending_job_reason(APP, None, 9) is R.INVALID_JOB_ID
    assert service.queries.get_pending_job_reasons_history(APP, None, 9) == []


def test_all_constraints_in_androids_order(service: JobSchedulerService) -> None:
    service.on_device_state(
        DeviceState(
            network=None, charging=False, plugged=False, battery_not_low=False, storage_low=True
        )
    )
    job = uij(requires_charging=True, requires_battery_not_low=True, requires_storage_not_low=True)
    service.schedule(VISIBLE, None, job)
    assert reasons(service) == [
        R.CONSTRAINT_BATTERY_NOT_LOW,
        R.CONSTRAINT_CHARGING,
        R.CONSTRAINT_CONNECTIVITY,
        R.CONSTRAINT_STORAGE_NOT_LOW,
    ]


@pytest.mark.parametrize(
    ("device", "setter", "reason"),
    [
        (DeviceState(network=None), {}, R.CONSTRAINT_CONNECTIVITY),
        (DeviceState(charging=False), {"requires_charging": True}, R.CONSTRAINT_CHARGING),
        (
            DeviceState(battery_not_low=False, plugged=False, charging=False),
            {"requires_battery_not_low": True},
            R.CONSTRAINT_BATTERY_NOT_LOW,
        ),
        (
            DeviceState(storage_low=True),
            {"requires_storage_not_low": True},
            R.CONSTRAINT_STORAGE_NOT_LOW,
        ),
        (DeviceState(thermal=ThermalStatus.SEVERE), {}, R.DEVICE_STATE),
    ],
)
def test_each_pending_reason(
    service: JobSchedulerService,
    device: DeviceState,
    setter: dict[str, bool],
    reason: PendingReason,
) -> None:
    service.on_device_state(device)
    service.schedule(VISIBLE, None, uij(**setter))  # type: ignore[arg-type]
    service.note_app_visible(APP, False)
    assert service.queries.get_pending_job_reason(APP, None, 1) is reason


def test_power_saver_holds_regular_jobs_not_uijs(service: JobSchedulerService) -> None:
    service.on_device_state(DeviceState(power_saver=True))
    service.schedule(BACKGROUND, None, regular(1))
    service.schedule(VISIBLE, None, uij(2))
    assert reasons(service, 1) == [R.DEVICE_STATE]
    assert reasons(service, 2) == [R.EXECUTING]


def test_app_without_its_service_is_app(service: JobSchedulerService) -> None:
    from server.helpers import make_app

    service.schedule(BACKGROUND, None, regular(1, requires_charging=True))
    service.set_app(make_app(services={}))
    assert reasons(service) == [R.APP]


def test_queued_for_a_slot_is_device_state(clock: FakeClock) -> None:
    from server.helpers import GIB, make_app
    from uidt.settings import Settings

    service = JobSchedulerService(
        clock=clock,
        settings=Settings(concurrency_limit=2),
        device=DeviceState(),
        installed_memory_bytes=GIB,
        apps={APP: make_app()},
    )
    for i in range(3):
        service.schedule(BACKGROUND, None, regular(i))
    run_until_idle(service)
    queued = [
        i
        for i in range(3)
        if service.queries.get_pending_job_reason(APP, None, i) is R.DEVICE_STATE
    ]
    assert queued == [2]


def test_history_records_changes(service: JobSchedulerService, clock: FakeClock) -> None:
    service.on_device_state(DeviceState(network=None))
    service.schedule(VISIBLE, None, uij())
    service.note_app_visible(APP, False)
    clock.advance(1000)
    service.on_device_state(DeviceState())
    history = service.queries.get_pending_job_reasons_history(APP, None, 1)
    assert [h[1] for h in history] == [[R.CONSTRAINT_CONNECTIVITY], [R.EXECUTING]]
    assert history[1][0] - history[0][0] == 1000


def test_charging_for_visible_app_is_power_connected(service: JobSchedulerService) -> None:
    service.on_device_state(DeviceState(charging=False, plugged=True))
    service.note_app_visible(APP, True)
    service.schedule(VISIBLE, None, uij(requires_charging=True))
    assert reasons(service) == [R.EXECUTING]


def test_unmetered_job_waits_on_metered_network(service: JobSchedulerService) -> None:
    service.on_device_state(DeviceState(network=NetworkState(metered=True)))
    service.schedule(VISIBLE, None, uij(required_network_type=NetworkType.UNMETERED))
    service.note_app_visible(APP, False)
    assert reasons(service) == [R.CONSTRAINT_CONNECTIVITY]
    service.schedule(VISIBLE, None, uij(2))
    assert reasons(service, 2) == [R.EXECUTING]  # metered is fine for a UIJ asking ANY
