"""Waking idle hosts: a job freed on one host is claimed at once by another that listens
(``LISTEN/NOTIFY``), long before its periodic claim; bursts are coalesced; a lost listening
connection is opened again. Hosts are store + keeper instances on one real database."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import pytest

from uidt.daemon.leases import LeaseKeeper
from uidt.job.key import JobKey
from uidt.store.base import Heartbeat
from uidt.store.pg_wake import WakeListener
from uidt.store.postgres import PostgresJobStore
from uidt.store.record import JobRecord
from uidt.store.writer import StoreWriter
from uidt.testing.store_contract import make_record

#: Long enough that the periodic claim (every 20 s) cannot explain a claim within the deadline.
LONG_LEASE_MS = 60_000
DEADLINE_S = 10.0


def labelled(job_id: int, *labels: str) -> JobRecord:
    record = make_record(job_id=job_id)
    record.job = dataclasses.replace(record.job, required_host_labels=labels)
    return record


class Idle:
    """An idle host B: its keeper runs (heartbeats, listener); it records what it claimed."""

    def __init__(self, store: PostgresJobStore, listener: WakeListener | None) -> None:
        self.store, self.listener = store, listener
        self.claimed: list[tuple[float, JobKey]] = []
        self.arrived = asyncio.Event()
        self.keeper = LeaseKeeper(store, print, on_claimed=self._took, wakes=listener)

    def _took(self, records: list[JobRecord]) -> list[JobKey]:
        self.claimed += [(time.monotonic(), r.key) for r in records]
        self.arrived.set()
        return []

    async def until_listening(self) -> None:
        """Bounded poll: the listener is connected and its first (catch-up) claim is done."""
        assert self.listener is not None
        deadline = time.monotonic() + DEADLINE_S
        while not (self.listener.listening and self.keeper.claims >= 1):
            assert time.monotonic() < deadline, "the listener never connected"
            await asyncio.sleep(0.01)
        task = self.keeper._claiming
        if task is not None:
            await task


@asynccontextmanager
async def idle_host(
    url: str, *labels: str, listen: bool = True, backoff_s: tuple[float, ...] = (0.05,)
) -> AsyncIterator[Idle]:
    store = PostgresJobStore(url, host_id="b", lease_ms=LONG_LEASE_MS, host_labels=labels)
    listener = WakeListener(url, backoff_s=backoff_s) if listen else None
    host = Idle(store, listener)
    running = asyncio.create_task(host.keeper.run())
    try:
        yield host
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        store.close()


@pytest.mark.postgres
async def test_a_job_another_host_may_not_run_is_claimed_by_the_idle_one_at_once(
    postgres_url: str,
) -> None:
    a = PostgresJobStore(postgres_url, host_id="a", lease_ms=LONG_LEASE_MS)
    try:
        async with idle_host(postgres_url, "gpu-rack") as b:
            await b.until_listening()
            assert b.claimed == []
            put_at = time.monotonic()
            await asyncio.to_thread(a.put_job, labelled(1, "gpu-rack"))  # a lacks the label
            await asyncio.wait_for(b.arrived.wait(), DEADLINE_S)
            [(at, key)] = b.claimed
            assert key == JobKey("com.example", None, 1)
            assert at - put_at < DEADLINE_S < b.keeper.period_s  # not the periodic claim
            assert b.listener is not None
            assert b.listener.heard >= 1
            assert list(b.store.held()) == [key]
    finally:
        a.close()


@pytest.mark.postgres
async def test_a_job_released_by_its_host_is_claimed_by_the_idle_one_at_once(
    postgres_url: str,
) -> None:
    a = PostgresJobStore(postgres_url, host_id="a", lease_ms=LONG_LEASE_MS)
    try:
        async with idle_host(postgres_url) as b:
            await b.until_listening()
            await asyncio.to_thread(a.put_job, make_record(job_id=2))  # a holds it
            await asyncio.to_thread(a.release, [JobKey("com.example", None, 2)])
            await asyncio.wait_for(b.arrived.wait(), DEADLINE_S)
            assert [k for _, k in b.claimed] == [JobKey("com.example", None, 2)]
    finally:
        a.close()


@pytest.mark.postgres
async def test_hostile_an_idle_host_without_the_label_never_claims_the_job(
    postgres_url: str,
) -> None:
    a = PostgresJobStore(postgres_url, host_id="a", lease_ms=LONG_LEASE_MS)
    try:
        async with idle_host(postgres_url, "ssd") as b:
            await b.until_listening()
            assert b.listener is not None
            claims = b.keeper.claims
            await asyncio.to_thread(a.put_job, labelled(3, "gpu-rack"))
            deadline = time.monotonic() + DEADLINE_S  # bounded poll: the wake came, B looked
            while b.keeper.claims == claims:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            await b.keeper.claim_now()
            assert b.claimed == []
            assert b.store.held() == {}
    finally:
        a.close()


@pytest.mark.postgres
async def test_a_lost_listening_connection_is_opened_again_and_said_once(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    a = PostgresJobStore(postgres_url, host_id="a", lease_ms=LONG_LEASE_MS)
    caplog.set_level(logging.INFO, logger="uidt.daemon")
    try:
        async with idle_host(postgres_url, "gpu-rack") as b:
            await b.until_listening()
            assert b.listener is not None
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'uidt-wake'"
                )
            await asyncio.to_thread(a.put_job, labelled(4, "gpu-rack"))
            await asyncio.wait_for(b.arrived.wait(), DEADLINE_S)  # heard, or caught up after
            assert [k for _, k in b.claimed] == [JobKey("com.example", None, 4)]
            deadline = time.monotonic() + DEADLINE_S
            while not b.listener.listening:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            assert b.listener.losses == 1
    finally:
        a.close()
    lost = [r for r in caplog.records if "not listening for freed jobs" in r.getMessage()]
    assert len(lost) == 1
    assert any("listening for freed jobs again" in r.getMessage() for r in caplog.records)


class BlockingStore:
    """A leasing store whose claims block until released; counts them."""

    host_id = "b"
    lease_ms = 60_000

    def __init__(self) -> None:
        self.calls = 0
        self.entered = threading.Event()
        self.go = threading.Event()

    def claim(self, limit: int | None = None) -> list[JobRecord]:
        self.calls += 1
        self.entered.set()
        assert self.go.wait(10)
        return []

    def heartbeat(self) -> Heartbeat:
        return Heartbeat(held=0, lost=())

    def held(self) -> dict[JobKey, int]:
        return {}


async def test_a_burst_of_wakes_makes_one_claim_after_the_one_under_way() -> None:
    store = BlockingStore()
    keeper = LeaseKeeper(store, print, on_claimed=lambda _r: [])  # type: ignore[arg-type]
    first = keeper.claim_now()
    await asyncio.to_thread(store.entered.wait, 10)
    for _ in range(50):
        keeper.wake()
    assert keeper.claim_now() is first  # covered by the claim under way and the one after
    store.go.set()
    await asyncio.wait_for(first, DEADLINE_S)
    assert store.calls == 2
    assert keeper.claims == 2


class BlockingBeats(BlockingStore):
    """Its heartbeats block until released; it offered one job; counts the heartbeats."""

    offered = (JobKey("com.example", None, 7),)

    def heartbeat(self) -> Heartbeat:
        self.calls += 1
        self.entered.set()
        assert self.go.wait(10)
        return Heartbeat(held=0, lost=())


async def test_a_job_taken_during_a_heartbeat_makes_one_more_heartbeat() -> None:
    """The heartbeat under way may have looked before the claim: without one more, the host
    would show the job until its next periodic heartbeat (found as a flaky test)."""
    store = BlockingBeats()
    keeper = LeaseKeeper(store, print)  # type: ignore[arg-type]
    keeper.taken("com.example/7")
    await asyncio.to_thread(store.entered.wait, 10)
    first = keeper._beating
    assert first is not None
    for _ in range(5):
        keeper.taken("com.example/7")
    keeper.taken("com.example/8")  # not offered here: no heartbeat for it
    store.go.set()
    await asyncio.wait_for(first, DEADLINE_S)
    assert store.calls == 2


@pytest.mark.postgres
async def test_the_host_that_stored_a_job_it_may_not_run_forgets_it_once_taken(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A status never lies: host A's copy of the job B took does not stay "waiting" on A
    until A's next heartbeat (20 s here); B's claim tells A at once."""
    a = PostgresJobStore(postgres_url, host_id="a", lease_ms=LONG_LEASE_MS)
    gone = asyncio.Event()
    forgotten: list[JobKey] = []

    def lost(key: JobKey) -> None:
        forgotten.append(key)
        gone.set()

    caplog.set_level(logging.INFO, logger="uidt.daemon")
    listener = WakeListener(postgres_url)
    keeper = LeaseKeeper(a, lost, on_claimed=lambda _r: [], wakes=listener)
    running = asyncio.create_task(keeper.run())
    b = PostgresJobStore(postgres_url, host_id="b", lease_ms=LONG_LEASE_MS, host_labels=["gpu"])
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not listener.listening:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        await asyncio.to_thread(a.put_job, labelled(5, "gpu"))
        assert a.offered == [JobKey("com.example", None, 5)]
        await asyncio.to_thread(b.claim)
        await asyncio.wait_for(gone.wait(), DEADLINE_S)
        assert forgotten == [JobKey("com.example", None, 5)]
        assert a.offered == []
        said = [r.getMessage() for r in caplog.records if "com.example/5" in r.getMessage()]
        assert said == ["job com.example/5: taken by another host (or removed); not here"]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        a.close()
        b.close()


class OneJobStore(BlockingStore):
    """Claims hand out one job each time (and never block); releases are counted."""

    def __init__(self) -> None:
        super().__init__()
        self.go.set()
        self.released: list[JobKey] = []

    def claim(self, limit: int | None = None) -> list[JobRecord]:
        super().claim(limit)
        return [make_record(job_id=7)]

    def release(self, keys: list[JobKey]) -> None:
        self.released += keys


async def test_a_job_this_host_gave_back_does_not_wake_it_again() -> None:
    """Hostile: hosts without the job's app would otherwise pass it to and fro for ever, each
    release waking the other (and itself) at once; a wake naming a job this host gave back
    since its last heartbeat is ignored. Its periodic claim still looks (the app may come)."""
    store = OneJobStore()
    keeper = LeaseKeeper(store, print, on_claimed=lambda records: [r.key for r in records])  # type: ignore[arg-type]
    await keeper.claim_now()
    assert store.released == [JobKey("com.example", None, 7)]
    keeper.wake("com.example/7")  # its own release, heard back
    assert keeper.claims == 1
    keeper.wake("com.example/8")  # another job freed: claim
    await keeper.claim_now()
    assert keeper.claims == 2
    await keeper._tick()  # the periodic claim forgets what was given back, and looks again
    assert keeper.claims == 3


@pytest.mark.postgres
async def test_a_removal_queued_for_a_lost_lease_never_deletes_the_job_claimed_again(
    postgres_url: str,
) -> None:
    """The core forgets a job whose lease this host lost and queues its removal (a no-op for a
    lost lease). If the host claims the job again before that removal is committed (the
    database came back, the lease ran out, a wake or the periodic claim came first), the stale
    removal must not delete the row this host now holds: the keeper commits what was queued
    before it claims. (Found as a flaky e2e test under load.)"""
    now = [1_700_000_000_000]
    store = PostgresJobStore(postgres_url, host_id="a", lease_ms=9_000, clock=lambda: now[0])
    writer = StoreWriter(store, linger_s=3600)  # nothing is committed until asked
    key = JobKey("com.example", None, 1)
    adopted: list[JobKey] = []

    def adopt(records: list[JobRecord]) -> list[JobKey]:
        adopted.extend(r.key for r in records)
        return []

    keeper = LeaseKeeper(store, print, on_claimed=adopt, settle_writes=writer.sync)
    try:
        store.put_job(make_record())
        keeper.fence()  # the database was unreachable: every lease given up in memory
        writer.remove_job(key)  # what the core's LeaseLost queues
        now[0] += 9_000  # the lease ran out; nobody else claimed it
        await keeper.claim_now()
        assert adopted == [key]
        writer.flush()
        assert store.get_job(key) is not None
        assert list(store.held()) == [key]
    finally:
        writer.close()


async def test_the_listening_connection_carries_the_pools_tcp_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a cut link an idle LISTEN connection sends nothing, so only keepalives find its peer
    gone: with the pool's settings within about a heartbeat period, not after the 30 s ping."""
    seen: dict[str, object] = {}

    async def connect(url: str, **options: object) -> None:
        seen.update(options)
        raise psycopg.OperationalError("stop here")

    monkeypatch.setattr(psycopg.AsyncConnection, "connect", connect)
    listener = WakeListener("postgresql://u@db.example/uidt", lease_ms=6_000)
    with pytest.raises(psycopg.OperationalError):
        await listener._connect()
    assert seen["tcp_user_timeout"] == 2_000  # a heartbeat period: a third of the lease
    assert seen["keepalives"] == 1
    assert seen["keepalives_idle"] == 2
    assert seen["keepalives_count"] == 3
    seen.clear()
    named = WakeListener("postgresql://u@db.example/uidt?tcp_user_timeout=500", lease_ms=6_000)
    with pytest.raises(psycopg.OperationalError):
        await named._connect()
    assert "tcp_user_timeout" not in seen  # the URL's own setting is left to libpq
