"""Controllers track the jobs that depend on their reading: a device change touches only those."""

from __future__ import annotations

import random

import pytest

from server.helpers import APP, BACKGROUND, VISIBLE, regular, uij
from uidt.device.state import DeviceState, MemoryPressure, NetworkState, ThermalStatus
from uidt.job import JobWorkItem, NetworkType
from uidt.job.key import JobKey
from uidt.server import JobSchedulerService
from uidt.server import core as core_module
from uidt.server.controllers.tracking import DeviceDependents, Reading, changed_readings
from uidt.server.status import Bit, JobStatus
from uidt.testing import InProcessApps, run_until_idle


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[JobStatus]:
    """Count the evaluations the check pass makes."""
    seen: list[JobStatus] = []
    real = core_module.evaluate

    def counting(core: object, status: JobStatus) -> None:
        seen.append(status)
        real(core, status)  # type: ignore[arg-type]

    monkeypatch.setattr(core_module, "evaluate", counting)
    return seen


def _mixed(service: JobSchedulerService) -> None:
    service.schedule(BACKGROUND, None, regular(1, requires_charging=True))
    service.schedule(BACKGROUND, None, regular(2, requires_storage_not_low=True))
    service.schedule(BACKGROUND, None, regular(3, requires_battery_not_low=True))
    service.schedule(BACKGROUND, None, regular(4, required_network_type=NetworkType.UNMETERED))
    service.schedule(VISIBLE, None, uij(5))
    service.schedule(BACKGROUND, None, regular(6, required_network_type=NetworkType.NONE))
    run_until_idle(service, InProcessApps(service))


def test_readings_of_a_device_change() -> None:
    base = DeviceState()
    assert changed_readings(base, base.replace(storage_low=True)) == ({Reading.STORAGE}, False)
    assert changed_readings(base, base.replace(plugged=False)) == ({Reading.POWER}, False)
    assert changed_readings(base, base.replace(network=None)) == ({Reading.NETWORK}, False)
    assert changed_readings(base, base.replace(thermal=ThermalStatus.SEVERE)) == (set(), True)
    assert changed_readings(base, base.replace(power_saver=True)) == (set(), True)
    assert changed_readings(base, base.replace(memory=MemoryPressure.LOW)) == (set(), False)
    assert changed_readings(base, base.replace(battery_level=5)) == (set(), False)


def test_dependents_follow_constraints(service: JobSchedulerService) -> None:
    _mixed(service)
    deps = service.dependents
    keys = {s.key.job_id: s.key for s in service.jobs.values()}
    assert deps.tracking(Reading.STORAGE) == {keys[2]}
    networked = {keys[i] for i in (1, 2, 3, 4, 5)}  # regular() asks for a network by default
    assert keys[6] in service.jobs
    assert keys[6] not in {s.key for s in deps.concerned(set(Reading))}
    assert deps.tracking(Reading.NETWORK) == networked
    assert deps.tracking(Reading.POWER) == networked
    service.update_constraints(
        service.jobs[keys[2]].key.app, None, 2, requires_storage_not_low=False
    )
    assert deps.tracking(Reading.STORAGE) == frozenset()
    service.cancel(keys[4].app, None, 4)
    assert keys[4] not in deps.tracking(Reading.NETWORK)
    assert keys[4] not in deps.tracking(Reading.POWER)


def test_untrack_is_idempotent() -> None:
    deps = DeviceDependents()
    status = JobStatus(key=JobKey("a", None, 1), job=regular(1), enqueue_elapsed=0)
    deps.track(status)
    deps.untrack(status.key)
    deps.untrack(status.key)
    assert deps.concerned({Reading.NETWORK, Reading.POWER}) == []


def test_a_change_that_concerns_no_job_evaluates_none(
    service: JobSchedulerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.schedule(BACKGROUND, None, regular(1, requires_charging=True))
    service.schedule(BACKGROUND, None, regular(2))
    run_until_idle(service, InProcessApps(service))
    seen = _spy(monkeypatch)
    service.on_device_state(DeviceState(storage_low=True))
    service.on_device_state(DeviceState(memory=MemoryPressure.MODERATE))
    assert seen == []


def test_a_change_evaluates_only_the_jobs_whose_bits_flip(
    service: JobSchedulerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.on_device_state(DeviceState())
    _mixed(service)
    seen = _spy(monkeypatch)
    service.on_device_state(DeviceState(charging=False))
    assert sorted(s.key.job_id for s in seen) == [1]
    seen.clear()
    # a faster network: every network job depends on it, none changes
    service.on_device_state(DeviceState(charging=False, network=NetworkState(downstream_kbps=9)))
    assert seen == []
    service.on_device_state(DeviceState(charging=False, network=NetworkState(metered=True)))
    assert sorted(s.key.job_id for s in seen) == [4]


def _comparable(service: JobSchedulerService) -> list[tuple[object, ...]]:
    return [
        (j["job_id"], j["state"], tuple(j["pending_reasons"]), j["stop_reason"])
        for j in service.queries.jobs_snapshot()
    ]


def test_incremental_evaluation_agrees_with_a_full_one(service: JobSchedulerService) -> None:
    """Hostile: after any sequence of device changes, re-evaluating every job changes nothing."""
    rng = random.Random(21)
    for job_id in range(40):
        service.schedule(
            BACKGROUND,
            None,
            regular(
                job_id,
                requires_charging=rng.random() < 0.4,
                requires_battery_not_low=rng.random() < 0.4,
                requires_storage_not_low=rng.random() < 0.4,
                required_network_type=rng.choice(
                    [NetworkType.ANY, NetworkType.UNMETERED]
                    if job_id % 3
                    else [NetworkType.NONE, NetworkType.ANY, NetworkType.UNMETERED]
                ),
                # a third of the networked jobs have byte figures the bandwidth can fail
                **(
                    {"estimated_network_bytes": (rng.choice([10**9, 10**12]), -1)}
                    if job_id % 3 == 1
                    else {}
                ),
                **({"minimum_network_chunk_bytes": 10**9} if job_id % 6 == 2 else {}),
            ),
        )
    apps = InProcessApps(service)
    run_until_idle(service, apps)
    networks = [
        None,
        NetworkState(),
        NetworkState(metered=True),
        NetworkState(suspended=True),
        NetworkState(downstream_kbps=10, upstream_kbps=10),
        NetworkState(metered=True, downstream_kbps=10),
        NetworkState(metered=True, downstream_kbps=10**7),
    ]
    for _ in range(60):
        device = DeviceState(
            charging=rng.random() < 0.5,
            plugged=rng.random() < 0.5,
            battery_not_low=rng.random() < 0.7,
            storage_low=rng.random() < 0.3,
            network=rng.choice(networks),
            thermal=rng.choice([ThermalStatus.NONE, ThermalStatus.LIGHT]),
        )
        service.on_device_state(device)
        run_until_idle(service, apps)
        before = _comparable(service)
        service.dirty.add_all()
        service.check_pass()
        run_until_idle(service, apps)
        assert _comparable(service) == before


def test_a_bandwidth_change_reaches_only_the_jobs_whose_bytes_it_fails(
    service: JobSchedulerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs without byte figures are judged by their request alone; a slow link fails a big one."""
    fast = DeviceState(network=NetworkState(metered=True, downstream_kbps=10**7))
    service.on_device_state(fast)
    service.schedule(BACKGROUND, None, regular(1))
    service.schedule(BACKGROUND, None, regular(2, estimated_network_bytes=(10**12, -1)))
    apps = InProcessApps(service)
    run_until_idle(service, apps)
    seen = _spy(monkeypatch)
    service.on_device_state(DeviceState(network=NetworkState(metered=True, downstream_kbps=10)))
    assert [s.key.job_id for s in seen] == [2]
    satisfied = {s.key.job_id: bool(s.satisfied & Bit.CONNECTIVITY) for s in service.jobs.values()}
    assert satisfied == {1: True, 2: False}


def test_byte_figures_added_later_are_seen_by_a_bandwidth_change(
    service: JobSchedulerService,
) -> None:
    """Hostile: a job scheduled without byte figures gains them (constraints updated, or work
    enqueued); a slow link must then fail it, not the verdict of its bare request."""
    fast = DeviceState(network=NetworkState(metered=True, downstream_kbps=10**7))
    slow = DeviceState(network=NetworkState(metered=True, downstream_kbps=10))
    service.on_device_state(fast)
    service.note_app_visible(APP, True)
    plain, enqueued = regular(1), regular(2)
    service.schedule(BACKGROUND, None, plain)
    service.schedule(BACKGROUND, None, enqueued, JobWorkItem())
    service.schedule(BACKGROUND, None, regular(3))
    service.on_device_state(DeviceState(charging=False, network=fast.network))  # hold them
    service.update_constraints(APP, None, 1, estimated_network_download_bytes=10**12)
    service.schedule(BACKGROUND, None, enqueued, JobWorkItem.create(download_bytes=10**12))
    service.on_device_state(DeviceState(charging=False, network=slow.network))
    satisfied = {s.key.job_id: bool(s.satisfied & Bit.CONNECTIVITY) for s in service.jobs.values()}
    assert satisfied == {1: False, 2: False, 3: True}
