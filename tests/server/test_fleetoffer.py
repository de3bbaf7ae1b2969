"""Which held jobs the core says to offer to the fleet, and which free jobs it could start
(uidt.server.fleetoffer; docs/fleet.md, "Offering a job to the fleet"). Pure core, fake clock."""

from __future__ import annotations

import dataclasses

from server.helpers import APP, BACKGROUND, GIB, SERVICE, make_app
from uidt.device.state import DeviceState, NetworkState
from uidt.job import JobInfo, NetworkType
from uidt.job.key import JobKey
from uidt.server import JobSchedulerService
from uidt.server.fleetoffer import OfferReason
from uidt.server.invariants import broken_invariants
from uidt.settings import Settings
from uidt.store.record import JobRecord
from uidt.testing import AppBehaviour, FakeClock, InProcessApps, run_until_idle

METERED = DeviceState(network=NetworkState(metered=True))


def job(job_id: int, *, unmetered: bool = False, latency_ms: int = 0) -> JobInfo:
    builder = JobInfo.Builder(job_id, SERVICE).set_persisted(True)
    if unmetered:
        builder.set_required_network_type(NetworkType.UNMETERED)
    if latency_ms:
        builder.set_minimum_latency(latency_ms)
    return builder.build()


def host(slots: int, device: DeviceState | None = None) -> JobSchedulerService:
    return JobSchedulerService(
        clock=FakeClock(),
        settings=dataclasses.replace(Settings(), concurrency_limit=slots),
        device=device or DeviceState(),
        installed_memory_bytes=16 * GIB,
        apps={APP: make_app()},
    )


def key(job_id: int) -> JobKey:
    return JobKey(APP, None, job_id)


def settle(service: JobSchedulerService) -> None:
    run_until_idle(service, InProcessApps(service, lambda _key: AppBehaviour(finish=None)))


def record(job_id: int, **kw: bool) -> JobRecord:
    return JobRecord(key=key(job_id), job=job(job_id, **kw), enqueue_time_utc_ms=0)


def test_jobs_waiting_for_a_slot_are_offered_the_running_one_not() -> None:
    service = host(slots=1)
    for n in (1, 2, 3):
        service.schedule(BACKGROUND, None, job(n))
    settle(service)
    assert service.queries.fleet_offers() == {
        key(2): OfferReason.NO_FREE_SLOT,
        key(3): OfferReason.NO_FREE_SLOT,
    }
    assert service.queries.fleet_offers([key(1), key(3)]) == {key(3): OfferReason.NO_FREE_SLOT}
    assert service.queries.free_slots() == 0
    assert broken_invariants(service) == []


def test_a_constraint_unmet_on_this_host_is_offered_a_shared_reason_is_not() -> None:
    service = host(slots=4, device=METERED)
    service.schedule(BACKGROUND, None, job(1, unmetered=True))
    service.schedule(BACKGROUND, None, job(2, unmetered=True, latency_ms=3_600_000))
    service.schedule(BACKGROUND, None, job(3, latency_ms=3_600_000))
    volatile = JobInfo.Builder(4, SERVICE).set_required_network_type(NetworkType.UNMETERED)
    service.schedule(BACKGROUND, None, volatile.build())  # never leaves this host
    settle(service)
    # 2 and 3 wait for their delay, which every host would wait for too
    assert service.queries.fleet_offers() == {key(1): OfferReason.CONSTRAINT_UNMET_HERE}
    assert service.queries.free_slots() == 4


def test_a_stopping_host_offers_nothing_and_has_no_free_slot() -> None:
    service = host(slots=1)
    service.schedule(BACKGROUND, None, job(1))
    service.schedule(BACKGROUND, None, job(2))
    settle(service)
    service.stopping = True
    assert service.queries.fleet_offers() == {}
    assert service.queries.free_slots() == 0


def test_of_the_free_jobs_only_those_startable_here_within_the_free_slots_are_taken() -> None:
    service = host(slots=2, device=METERED)
    choice = service.queries.startable([record(1, unmetered=True), record(2), record(3), record(4)])
    assert choice.take == [key(2), key(3)]  # two free slots
    assert choice.unfit == [key(1)]
    assert service.jobs == {}  # nothing taken in: a question only
    assert broken_invariants(service) == []


def test_a_full_host_takes_none_and_its_own_copy_is_never_a_claim() -> None:
    service = host(slots=1)
    service.schedule(BACKGROUND, None, job(1))
    service.schedule(BACKGROUND, None, job(2))
    settle(service)
    assert service.queries.startable([record(3)]).take == []
    roomy = host(slots=3)
    roomy.schedule(BACKGROUND, None, job(1))
    settle(roomy)
    assert roomy.queries.startable([record(1), record(2)]).take == [key(2)]
