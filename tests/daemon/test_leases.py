"""``LeaseKeeper``: heartbeats, lost leases stopped at once, self-fencing, release at shutdown."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from uidt.daemon.leases import LeaseKeeper
from uidt.errors import LeaseLostError, StoreError
from uidt.job.key import JobKey
from uidt.job.params import JobParameters
from uidt.store.base import Heartbeat
from uidt.store.postgres import PostgresJobStore
from uidt.store.record import JobRecord
from uidt.store.writer import StoreWriter
from uidt.testing.store_contract import make_record

LEASE_MS = 9_000
KEY = JobKey("com.example", None, 1)


class Seconds:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class UnreachableStore:
    """A leasing store whose database is gone: every heartbeat fails."""

    host_id = "a"
    lease_ms = LEASE_MS

    def __init__(self) -> None:
        self._held = {KEY: 3, JobKey("com.example", None, 2): 4}

    def held(self) -> dict[JobKey, int]:
        return dict(self._held)

    def heartbeat(self) -> Heartbeat:
        raise StoreError("job store postgresql://db/x: heartbeat failed: connection refused")

    def abandon(self) -> list[JobKey]:
        keys = sorted(self._held, key=str)
        self._held.clear()
        return keys

    def release_all(self) -> None:
        raise StoreError("job store postgresql://db/x: release_all failed: connection refused")


class HangingStore(UnreachableStore):
    """A leasing store whose heartbeat hangs until told to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release_heartbeat = threading.Event()

    def heartbeat(self) -> Heartbeat:
        self.entered.set()
        self.release_heartbeat.wait(10)
        return super().heartbeat()


@pytest.fixture
def pair(postgres_url: str) -> Iterator[tuple[PostgresJobStore, PostgresJobStore, list[int]]]:
    now = [1_700_000_000_000]
    a = PostgresJobStore(postgres_url, host_id="a", lease_ms=LEASE_MS, clock=lambda: now[0])
    b = PostgresJobStore(postgres_url, host_id="b", lease_ms=LEASE_MS, clock=lambda: now[0])
    yield a, b, now
    a.close()
    b.close()


def test_the_period_is_a_third_of_the_lease() -> None:
    assert LeaseKeeper(UnreachableStore(), print).period_s == 3.0  # type: ignore[arg-type]


@pytest.mark.postgres
async def test_a_heartbeat_stops_the_jobs_another_host_took(
    pair: tuple[PostgresJobStore, PostgresJobStore, list[int]],
) -> None:
    a, b, now = pair
    a.put_job(make_record(job_id=1))
    a.put_job(make_record(job_id=2))
    stopped: list[JobKey] = []
    keeper = LeaseKeeper(a, stopped.append)
    await keeper.beat()
    assert (stopped, keeper.beats) == ([], 1)
    now[0] += LEASE_MS
    b.claim(limit=1)
    await keeper.beat()
    assert stopped == [KEY]
    assert list(a.held()) == [JobKey("com.example", None, 2)]


@pytest.mark.postgres
async def test_a_refused_write_stops_the_job_on_the_loop(
    pair: tuple[PostgresJobStore, PostgresJobStore, list[int]],
) -> None:
    a, b, now = pair
    a.put_job(make_record())
    now[0] += LEASE_MS
    b.claim()
    stopped: list[JobKey] = []
    keeper = LeaseKeeper(a, stopped.append)
    writer = StoreWriter(a, lease_lost=keeper.lost_from_thread(asyncio.get_running_loop()))
    try:
        writer.put_job(make_record(extra={"stale": True}))
        with pytest.raises(StoreError, match="lost its lease"):
            await writer.sync()
        await asyncio.sleep(0)  # the hand-over to the loop is a call_soon
    finally:
        writer.close()  # closes a too (closing twice is fine)
    assert stopped == [KEY]


async def test_an_unreachable_store_fences_this_host_before_its_leases_expire() -> None:
    seconds = Seconds()
    stopped: list[JobKey] = []
    store = UnreachableStore()
    keeper = LeaseKeeper(store, stopped.append, monotonic=seconds)  # type: ignore[arg-type]
    assert keeper.fence_after_s == 6.0  # two thirds of the 9 s lease
    seconds.now += 5.9
    await keeper.beat()
    assert stopped == []  # a blip: the jobs go on
    seconds.now += 0.1
    await keeper.beat()
    assert stopped == [KEY, JobKey("com.example", None, 2)]
    assert keeper.failures == 2
    await keeper.beat()
    assert len(stopped) == 2  # told once


async def test_a_hanging_heartbeat_does_not_hold_the_fence_up() -> None:
    seconds = Seconds()
    stopped: list[JobKey] = []
    store = HangingStore()
    keeper = LeaseKeeper(store, stopped.append, monotonic=seconds)  # type: ignore[arg-type]
    beat = asyncio.create_task(keeper.beat())
    await asyncio.to_thread(store.entered.wait, 10)  # the heartbeat hangs in the database
    seconds.now += keeper.fence_after_s
    keeper.check_deadline()  # what the next tick does while that heartbeat is under way
    assert stopped == [KEY, JobKey("com.example", None, 2)]
    store.release_heartbeat.set()
    await beat


async def test_release_failures_are_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    keeper = LeaseKeeper(UnreachableStore(), print)  # type: ignore[arg-type]
    await keeper.release()
    assert "could not give the leases back" in caplog.text


@pytest.mark.postgres
async def test_take_over_claims_expired_jobs_and_gives_back_what_it_cannot_run(
    pair: tuple[PostgresJobStore, PostgresJobStore, list[int]],
) -> None:
    a, b, now = pair
    a.put_job(make_record(job_id=1))
    a.put_job(make_record("org.elsewhere", job_id=2))
    got: list[JobKey] = []

    def adopt(records: list[JobRecord]) -> list[JobKey]:
        got.extend(r.key for r in records)
        return [r.key for r in records if r.key.app == "org.elsewhere"]

    keeper = LeaseKeeper(b, print, on_claimed=adopt, claim_limit=5)
    await keeper.take_over()
    assert got == []  # a's leases are live
    now[0] += LEASE_MS  # a died
    await keeper.take_over()
    assert sorted(got, key=str) == [KEY, JobKey("org.elsewhere", None, 2)]
    assert list(b.held()) == [KEY]
    assert a.lease_owner(JobKey("org.elsewhere", None, 2)) is None  # given back at once


@pytest.mark.postgres
async def test_fencing_never_waits_for_a_store_call_stuck_in_the_database(
    pair: tuple[PostgresJobStore, PostgresJobStore, list[int]],
) -> None:
    a, _b, _now = pair
    a.put_job(make_record())
    seconds = Seconds()
    stopped: list[JobKey] = []
    keeper = LeaseKeeper(a, stopped.append, monotonic=seconds)
    stuck, done = threading.Event(), threading.Event()

    def hang_in_the_store() -> None:  # a heartbeat or write blocked on an unanswering server
        with a._lock:
            stuck.set()
            done.wait(30)

    holder = threading.Thread(target=hang_in_the_store)
    holder.start()
    try:
        assert stuck.wait(10)
        seconds.now += keeper.fence_after_s
        # what the event loop does on its next tick: it must not wait for the stuck call
        # (a deadlock would hold it until the stuck call ends, which here is never by itself)
        fencing = threading.Thread(target=keeper.check_deadline)
        fencing.start()
        fencing.join(5)
        assert not fencing.is_alive(), "fencing waited for the store call stuck in the database"
        assert stopped == [KEY]
        assert a.held() == {}
    finally:
        done.set()
        holder.join()
    with pytest.raises(LeaseLostError):  # nothing of the fenced job is written any more
        a.put_job(make_record(extra={"after": "the fence"}))


async def test_the_steps_after_a_tick_run_in_order_and_a_failing_one_is_only_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    done: list[str] = []

    async def fails() -> None:
        done.append("fails")
        raise RuntimeError("boom")

    async def runs() -> None:
        done.append("runs")

    keeper = LeaseKeeper(UnreachableStore(), print)  # type: ignore[arg-type]
    keeper.after_tick += [fails, runs]
    await keeper._tick()
    assert done == ["fails", "runs"]
    assert "a step after the lease heartbeat failed" in caplog.text


@pytest.mark.postgres
async def test_each_run_carries_its_lease_and_the_first_run_of_a_taken_over_job_says_so(
    pair: tuple[PostgresJobStore, PostgresJobStore, list[int]],
) -> None:
    a, b, now = pair
    a.put_job(make_record(job_id=1))
    mine = JobKey("com.example", None, 3)
    writer = StoreWriter(b)
    try:
        keeper = LeaseKeeper(b, print, on_claimed=lambda records: [], writer=writer)
        now[0] += LEASE_MS  # a died
        await keeper.take_over()
        writer.put_job(make_record(job_id=3))  # scheduled here: queued, not yet committed
        own = await keeper.tag_run(mine, JobParameters(job_id=3))
        assert (own.host_id, own.lease_generation, own.taken_over) == ("b", b.held()[mine], False)
        first = await keeper.tag_run(KEY, JobParameters(job_id=1))
        assert (first.lease_generation, first.taken_over) == (b.held()[KEY], True)
        again = await keeper.tag_run(KEY, JobParameters(job_id=1))
        assert again.taken_over is False  # a later run here is this host's own
        absent = await keeper.tag_run(JobKey("com.example", None, 9), JobParameters(job_id=9))
        assert absent.lease_generation is None  # not persisted, or not held: no lease to name
    finally:
        writer.close()
