"""A job its host cannot start now is offered to the fleet (docs/fleet.md, "Offering a job to
the fleet"). Hosts are real runtimes (core, store writer, lease keeper with its listener) on one
real PostgreSQL, each with its own host id, concurrency limit and FakeDeviceSource readings; the
app worker is a stand-in that starts each run at once and lets the test finish it. The lease is
60 s, so the periodic claim (every 20 s) cannot explain what happens within the deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from uidt.daemon.leases import LeaseKeeper
from uidt.daemon.offers import FleetOffers
from uidt.daemon.runtime import Runtime
from uidt.daemon.scheduling import schedule_durably
from uidt.daemon.serving import keep_leases
from uidt.device.fake import FakeDeviceSource
from uidt.device.state import NetworkState
from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.job.network import NetworkType
from uidt.job.params import JobParameters
from uidt.job.reasons import PendingReason
from uidt.server import events as ev
from uidt.server.service import RESULT_SUCCESS, JobSchedulerService
from uidt.settings import Settings
from uidt.store.postgres import PostgresJobStore
from uidt.store.writer import StoreWriter
from uidt.testing.clock import FakeClock

pytestmark = pytest.mark.postgres

SAMPLE_MANIFEST = Path(__file__).resolve().parent.parent / "apps" / "sample" / "uidt.toml"
SAMPLE = "org.example.sample"
LEASE_MS = 60_000
DEADLINE_S = 10.0
METERED = NetworkState(metered=True)


class StandInWorker:
    """The app host: binds at once, starts each run at once, finishes it when the test says."""

    def __init__(self) -> None:
        self.runtime: Runtime | None = None
        self.started: list[tuple[int, JobKey, JobParameters]] = []

    def _apply(self, event: ev.CoreEvent) -> None:
        assert self.runtime is not None
        self.runtime.apply(event)

    async def bind(self, manifest: Any) -> None:
        self._apply(ev.Bound(manifest.package))

    async def start_job(self, app: str, run_id: int, service: str, params: JobParameters) -> None:
        key = JobKey(app, params.namespace, params.job_id)
        self.started.append((run_id, key, params))
        self._apply(ev.StartResult(app, run_id, True))

    async def stop_job(self, app: str, run_id: int, *_reasons: object) -> None:
        self._apply(ev.StopResult(app, run_id, False))

    async def network_changed(self, *args: object) -> None:
        pass

    async def bandwidth_limit(self, *args: object) -> None:
        pass

    async def kill(self, *args: object) -> None:
        pass

    async def unbind(self, *args: object) -> None:
        pass

    def keys(self) -> list[JobKey]:
        return [key for _, key, _ in self.started]

    def finish_all(self) -> None:
        for run_id, key, _ in self.started:
            self._apply(ev.Finished(key.app, run_id, False))


@dataclass
class Host:
    name: str
    runtime: Runtime
    keeper: LeaseKeeper
    worker: StandInWorker
    store: PostgresJobStore
    device: FakeDeviceSource
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def offers(self) -> FleetOffers:
        assert self.keeper.offers is not None
        return self.keeper.offers

    async def schedule(self, job: JobInfo) -> None:
        result = await schedule_durably(self.runtime, SAMPLE, None, job, None, peer_pid=None)
        assert result == RESULT_SUCCESS

    async def quiet(self) -> None:
        """Wait for the claims and offers under way (bounded: they are store round trips)."""
        for _ in range(3):
            for task in (self.keeper._claiming, self.offers._task, self.keeper._beating):
                if task is not None and not task.done():
                    await asyncio.wait_for(asyncio.shield(task), DEADLINE_S)
            await asyncio.sleep(0.01)

    def reasons(self, job_id: int) -> list[PendingReason]:
        return self.runtime.service.queries.get_pending_job_reasons(SAMPLE, None, job_id)


def job(job_id: int, *, unmetered: bool = False) -> JobInfo:
    builder = JobInfo.Builder(job_id, "sample_app:SampleService").set_persisted(True)
    if unmetered:
        builder.set_required_network_type(NetworkType.UNMETERED)
    return builder.build()


def key(job_id: int) -> JobKey:
    return JobKey(SAMPLE, None, job_id)


@asynccontextmanager
async def fleet_host(
    url: str, name: str, *, slots: int, network: NetworkState | None = None
) -> AsyncIterator[Host]:
    store = PostgresJobStore(url, host_id=name, lease_ms=LEASE_MS)
    device = FakeDeviceSource()
    if network is not None:
        device.set(network=network)
    clock = FakeClock()
    service = JobSchedulerService(
        clock=clock,
        settings=Settings(concurrency_limit=slots),
        device=device.snapshot(),
        installed_memory_bytes=8 << 30,
    )
    writer = StoreWriter(store)
    worker = StandInWorker()
    runtime = Runtime(service=service, store=writer, host=worker, device=device, clock=clock)
    worker.runtime = runtime
    runtime.load()
    runtime.apps.install_file(str(SAMPLE_MANIFEST))
    keeper = keep_leases(runtime, writer, asyncio.get_running_loop())
    assert keeper is not None
    host = Host(name, runtime, keeper, worker, store, device)
    host.tasks.append(asyncio.create_task(keeper.run()))
    try:
        await until(lambda: keeper.wakes is not None and getattr(keeper.wakes, "listening", False))
        await host.quiet()
        yield host
    finally:
        for task in host.tasks:
            task.cancel()
        await asyncio.gather(*host.tasks, return_exceptions=True)
        await runtime.cancel_host_operations()
        await asyncio.to_thread(writer.close)


async def until(condition: Callable[[], bool], what: str = "the condition") -> None:
    """Bounded poll for something real processes (the database, its notifications) do."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} never came"
        await asyncio.sleep(0.01)


async def test_a_full_host_offers_and_an_idle_host_takes_at_most_its_free_slots_at_once(
    postgres_url: str,
) -> None:
    async with (
        fleet_host(postgres_url, "a", slots=1) as a,
        fleet_host(postgres_url, "b", slots=2) as b,
    ):
        began = time.monotonic()
        for n in (1, 2, 3):
            await a.schedule(job(n))
        await until(lambda: len(b.worker.started) == 2, "host b's runs")
        await until(lambda: set(a.runtime.service.jobs) == {key(1)}, "host a forgetting")
        assert time.monotonic() - began < DEADLINE_S < b.keeper.period_s  # the wake, not a tick
        await a.quiet()
        await b.quiet()
        assert a.worker.keys() == [key(1)]
        assert sorted(b.worker.keys(), key=str) == [key(2), key(3)]
        assert b.offers.claimed == 2  # no more than its free slots
        # they never ran before: their first runs on b are no takeover of a run
        assert [params.taken_over for _, _, params in b.worker.started] == [False, False]
        assert {params.host_id for _, _, params in b.worker.started} == {"b"}
        assert a.offers.offered == 2
        a.worker.finish_all()
        b.worker.finish_all()
        await a.runtime.store.sync()
        await b.runtime.store.sync()
        assert a.runtime.service.jobs == {}
        assert b.runtime.service.jobs == {}
        assert a.store.jobs() == []  # every job completed, each once, on one host
        started = a.worker.keys() + b.worker.keys()
        assert sorted(started, key=str) == [key(1), key(2), key(3)]


async def test_a_job_needing_unmetered_runs_on_the_unmetered_host(postgres_url: str) -> None:
    async with (
        fleet_host(postgres_url, "a", slots=2, network=METERED) as a,
        fleet_host(postgres_url, "b", slots=2) as b,
    ):
        await a.schedule(job(1, unmetered=True))
        await until(lambda: b.worker.keys() == [key(1)], "host b's run")
        await a.quiet()
        assert a.worker.started == []
        await until(lambda: key(1) not in a.runtime.service.jobs, "host a forgetting")
        assert b.store.held().keys() == {key(1)}


async def test_hostile_two_full_hosts_never_pass_a_job_to_and_fro(postgres_url: str) -> None:
    async with (
        fleet_host(postgres_url, "a", slots=1) as a,
        fleet_host(postgres_url, "b", slots=1) as b,
    ):
        await b.schedule(job(10))  # b's one slot is taken
        await a.schedule(job(1))  # a's too
        await a.schedule(job(2))  # waits for a slot: offered
        await until(lambda: a.offers.offered == 1, "the offer")
        for _ in range(20):  # as many looks as twenty wakes or ticks would make
            await a.keeper.claim_now()
            await b.keeper.claim_now()
            await a.offers.soon()
            await b.offers.soon()
        await a.quiet()
        await b.quiet()
        assert b.offers.claimed == 0  # a full host takes nothing
        assert a.offers.claimed == 0  # the offerer never claims its own offer
        assert a.offers.offered == 1  # offered once, not again and again
        assert b.offers.offered == 0
        assert a.reasons(2) == [PendingReason.DEVICE_STATE]  # still waiting on a, not lost
        assert a.store.offered == [key(2)]
        # a's slot frees: it takes its offer back and runs it
        a.worker.finish_all()
        await until(lambda: a.worker.keys().count(key(2)) == 1, "a's run of its offered job")
        assert a.offers.reclaimed == 1
        await a.runtime.store.sync()  # job 1's removal
        assert a.store.held().keys() == {key(2)}


async def test_hostile_no_host_can_run_it_it_waits_and_is_not_passed_around(
    postgres_url: str,
) -> None:
    async with (
        fleet_host(postgres_url, "a", slots=2, network=METERED) as a,
        fleet_host(postgres_url, "b", slots=2, network=METERED) as b,
    ):
        await a.schedule(job(1, unmetered=True))
        await until(lambda: a.offers.offered == 1, "the offer")
        await a.quiet()
        await b.quiet()
        for _ in range(20):
            await a.keeper.claim_now()
            await b.keeper.claim_now()
            await a.offers.soon()
            await b.offers.soon()
        await a.quiet()
        await b.quiet()
        assert b.offers.claimed == 0  # b looked, saw it could not start it, left it
        assert a.offers.claimed == 0
        assert a.offers.offered == 1  # offered once, never passed to and fro
        assert b.offers.offered == 0
        assert key(1) not in b.runtime.service.jobs
        holder = a  # still waiting on the host that scheduled it, with its reason, not lost
        assert holder.reasons(1) == [PendingReason.CONSTRAINT_CONNECTIVITY]
        assert a.worker.started == []
        assert b.worker.started == []
        # its host's network becomes unmetered: it takes its offer back and runs it
        holder.device.set(network=NetworkState())
        await until(lambda: holder.worker.keys() == [key(1)], "the run once unmetered")
        other = b if holder is a else a
        assert other.worker.started == []


async def test_hostile_the_offerer_whose_offer_was_taken_meanwhile_does_not_start_it(
    postgres_url: str,
) -> None:
    async with (
        fleet_host(postgres_url, "a", slots=1) as a,
        fleet_host(postgres_url, "b", slots=1) as b,
    ):
        await b.schedule(job(10))  # b is full: it does not take the offer
        await a.schedule(job(1))
        await a.schedule(job(2))
        await until(lambda: a.offers.offered == 1, "the offer")
        # a third party claims it behind a's back (as b would, had its slot freed)
        thief = PostgresJobStore(postgres_url, host_id="c", lease_ms=LEASE_MS)
        try:
            assert [r.key for r in await asyncio.to_thread(thief.claim)] == [key(2)]
            a.worker.finish_all()  # a's slot frees: its core wants to start job 2
            await until(lambda: key(2) not in a.runtime.service.jobs, "a forgetting job 2")
            await a.quiet()
            assert a.worker.keys() == [key(1)]  # never sent to a's worker
            assert thief.held().keys() == {key(2)}
            assert b.worker.keys() == [key(10)]
        finally:
            thief.close()


async def test_hostile_jobs_a_host_cannot_start_do_not_hide_the_one_it_can(
    postgres_url: str,
) -> None:
    async with (
        fleet_host(postgres_url, "a", slots=1, network=METERED) as a,
        fleet_host(postgres_url, "b", slots=1, network=METERED) as b,
    ):
        await a.schedule(job(1))  # a's one slot
        for n in range(2, 42):  # forty jobs neither host can start, offered first
            await a.schedule(job(n, unmetered=True))
        await a.schedule(job(42))  # b can start this one: it must find it behind the forty
        await until(lambda: b.worker.keys() == [key(42)], "b's run of job 42")
        await a.quiet()
        await b.quiet()
        assert b.offers.claimed == 1
        assert a.offers.offered == 41
        assert len(a.runtime.service.jobs) == 41  # job 1 running, forty waiting on a


async def test_a_full_host_whose_slot_frees_takes_an_offer_at_once(postgres_url: str) -> None:
    async with (
        fleet_host(postgres_url, "a", slots=1) as a,
        fleet_host(postgres_url, "b", slots=1) as b,
    ):
        await b.schedule(job(10))  # b is full
        await a.schedule(job(1))  # a is full
        await a.schedule(job(2))  # offered; nobody can take it now
        await until(lambda: a.offers.offered == 1, "the offer")
        await b.quiet()
        assert b.offers.claimed == 0
        began = time.monotonic()
        b.worker.finish_all()  # b's slot frees: it looks at once, not at its next tick
        await until(lambda: b.worker.keys() == [key(10), key(2)], "b's run of the offered job")
        assert time.monotonic() - began < DEADLINE_S < b.keeper.period_s
        await until(lambda: key(2) not in a.runtime.service.jobs, "host a forgetting")
        assert a.worker.keys() == [key(1)]
