"""The daemon's side of the fleet view (``uidt.daemon.fleet``): a stop carried to the host holding
the job, a free job claimed and stopped by the host that stops it, stale requests left alone.

The hosts are :class:`PostgresJobStore` instances on the throwaway cluster; the daemon's runtime
is a small stand-in that records what the fleet desk asks of it (the real daemons are in
tests/e2e/test_fleet_view.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from uidt.daemon.fleet import FleetDesk, fleet_view, pick_up_stop_requests, stop_outcomes
from uidt.errors import StoreError, UidtError
from uidt.job.key import JobKey
from uidt.store.fleet import StopOutcome, StopRequest
from uidt.store.postgres import PostgresJobStore
from uidt.store.record import JobRecord
from uidt.testing.pghosts import LeaseClock, StoreHosts
from uidt.testing.store_contract import make_record

APP = "com.example"
KEY = JobKey(APP, None, 1)
LEASE_MS = 10_000


@dataclass
class _Status:
    generation: int


@dataclass
class _Service:
    jobs: dict[JobKey, _Status] = field(default_factory=dict)
    running: dict[int, Any] = field(default_factory=dict)


class _Apps:
    def require(self, app: str) -> None:
        if app != APP:
            raise UidtError(f"no app {app}")


class _Writer:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def sync(self) -> None:
        self.log.append("sync")


class FakeRuntime:
    """The runtime members the fleet desk uses; ``log`` says what was asked, in order."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.service = _Service()
        self.apps = _Apps()
        self.store = _Writer(self.log)

    def user_stop(self, app: str) -> list[dict[str, Any]]:
        self.log.append(f"user_stop {app}")
        return []

    def adopt(self, records: list[JobRecord]) -> list[JobKey]:
        for record in records:
            self.service.jobs[record.key] = _Status(int(record.extra.get("generation", 0)))
            self.log.append(f"adopt {record.key}")
        return []

    def jobs_snapshot(self, app: str | None, *, include_finished: bool) -> list[dict[str, Any]]:
        return [
            {"app": k.app, "namespace": k.namespace, "job_id": k.job_id, "state": "pending"}
            for k in self.service.jobs
        ]


@pytest.fixture
def clock() -> LeaseClock:
    return LeaseClock()


@pytest.fixture
def host(postgres_url: str, clock: LeaseClock) -> Iterator[Callable[[str], PostgresJobStore]]:
    """Opens a store instance as the named host; all are closed after the test."""
    with StoreHosts(postgres_url, lease_ms=LEASE_MS, clock=clock) as hosts:
        yield hosts.open


def _desk(store: PostgresJobStore) -> tuple[FleetDesk, FakeRuntime]:
    runtime = FakeRuntime()
    return FleetDesk(runtime, store.fleet), runtime  # type: ignore[arg-type]


def _request(rid: int, generation: int, key: JobKey = KEY) -> StopRequest:
    return StopRequest(rid, key, generation, "host-b", 0, "host-a")


# -- what a holder does with a request (no database) ---------------------------------------------


def test_only_a_request_naming_the_generation_held_stops_the_app() -> None:
    generations = {KEY: 5}
    outcomes, apps = stop_outcomes(
        [_request(1, 5), _request(2, 4), _request(3, 5, JobKey(APP, None, 9))], generations.get
    )
    assert outcomes == [(1, StopOutcome.STOPPED), (2, StopOutcome.STALE), (3, StopOutcome.GONE)]
    assert apps == [APP]


def test_a_stale_request_alone_stops_nothing() -> None:
    outcomes, apps = stop_outcomes([_request(1, 4)], {KEY: 5}.get)
    assert outcomes == [(1, StopOutcome.STALE)]
    assert apps == []


class _UnreachableStore:
    """A shared store whose database stopped answering."""

    host_id = "host-b"

    def fleet_jobs(self) -> Any:
        raise StoreError("job store postgresql://db/uidt: fleet_jobs failed: connection refused")


def test_with_the_store_unreachable_the_local_stop_is_still_done_and_the_answer_says_so() -> None:
    runtime = FakeRuntime()
    desk = FleetDesk(runtime, _UnreachableStore())  # type: ignore[arg-type]
    answer = asyncio.run(desk.stop_app(APP))
    assert runtime.log == ["user_stop com.example"]
    assert answer["sent"] == []
    assert "did not reach every other host" in answer["unreached"]
    assert "connection refused" in answer["unreached"]


# -- with the shared store -----------------------------------------------------------------------

pg = pytest.mark.postgres


@pg
def test_a_stop_sent_from_another_host_is_carried_out_by_the_holder_and_only_then_settled(
    host: Callable[[str], PostgresJobStore],
) -> None:
    a, b = host("host-a"), host("host-b")
    a.put_job(make_record(job_id=1, extra={"generation": 5}))
    _, runtime_a = _desk(a)
    runtime_a.service.jobs[KEY] = _Status(5)
    desk_b, runtime_b = _desk(b)

    answer = asyncio.run(desk_b.stop_app(APP))
    assert [(r["job_id"], r["sent_to"], r["generation"]) for r in answer["sent"]] == [
        (1, "host-a", 5)
    ]
    assert runtime_b.log == ["user_stop com.example"]  # its own stop, nothing claimed
    view = asyncio.run(desk_b.view())
    (job,) = view["jobs"]
    assert (job["host"], job["this_host"], job["stop_request"]["outcome"]) == (
        "host-a",
        False,
        None,
    )  # sent, not stopped: only host-a can say that

    handled = asyncio.run(pick_up_stop_requests(runtime_a, a.fleet))  # host-a's next tick
    assert [r.key for r in handled] == [KEY]
    assert runtime_a.log == ["user_stop com.example", "sync"]  # durable before settled
    done = asyncio.run(desk_b.view())["stop_requests"][0]
    assert (done["outcome"], done["done_by"]) == ("stopped", "host-a")


@pg
def test_a_request_naming_an_older_generation_leaves_the_rescheduled_job_alone(
    host: Callable[[str], PostgresJobStore],
) -> None:
    a, b = host("host-a"), host("host-b")
    a.put_job(make_record(job_id=1, extra={"generation": 5}))
    _, runtime_a = _desk(a)
    runtime_a.service.jobs[KEY] = _Status(6)  # the app scheduled it anew; not written yet
    b.fleet.request_stop(KEY, 5)
    asyncio.run(pick_up_stop_requests(runtime_a, a.fleet))
    assert "user_stop com.example" not in runtime_a.log
    (request,) = b.fleet.fleet_jobs().stop_requests
    assert (request.outcome, request.done_by) == (StopOutcome.STALE, "host-a")


@pg
def test_a_job_nobody_holds_is_claimed_and_stopped_by_the_host_that_stops_it(
    host: Callable[[str], PostgresJobStore],
) -> None:
    a, b = host("host-a"), host("host-b")
    a.put_job(make_record(job_id=1, extra={"generation": 5}))
    a.release_all()  # host-a shut down cleanly: the job waits for a host
    desk_b, runtime_b = _desk(b)
    answer = asyncio.run(desk_b.stop_app(APP))
    assert answer["sent"] == []
    assert answer["claimed"] == [{"app": APP, "namespace": None, "job_id": 1}]
    assert runtime_b.log == [f"adopt {KEY}", "user_stop com.example"]
    assert b.lease_owner(KEY) == "host-b"


@pg
def test_a_stop_for_a_job_that_moved_to_a_third_host_is_carried_out_there(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock
) -> None:
    a, b, c = host("host-a"), host("host-b"), host("host-c")
    a.put_job(make_record(job_id=1, extra={"generation": 5}))
    desk_b, _ = _desk(b)
    (sent,) = asyncio.run(desk_b.stop_app(APP))["sent"]
    assert sent["sent_to"] == "host-a"
    clock.now += LEASE_MS  # host-a died before its next tick
    desk_c, runtime_c = _desk(c)
    runtime_c.adopt(c.claim())
    asyncio.run(desk_c.tick())
    assert runtime_c.log[-2:] == ["user_stop com.example", "sync"]
    (done,) = b.fleet.fleet_jobs().stop_requests
    assert (done.outcome, done.done_by) == (StopOutcome.STOPPED, "host-c")
    # host-a, back from its freeze, finds nothing to do: the job is not its own any more
    _, runtime_a = _desk(a)
    runtime_a.service.jobs[KEY] = _Status(5)
    assert asyncio.run(pick_up_stop_requests(runtime_a, a.fleet)) == []


@pg
def test_the_view_shows_this_hosts_jobs_as_its_own_and_the_rest_with_their_host(
    host: Callable[[str], PostgresJobStore],
) -> None:
    a, b = host("host-a"), host("host-b")
    a.put_job(make_record(job_id=1))
    b.put_job(make_record(job_id=2))
    a.fleet.publish_running([KEY])
    runtime_b = FakeRuntime()
    runtime_b.service.jobs[JobKey(APP, None, 2)] = _Status(1)
    view = fleet_view(
        "host-b", runtime_b.jobs_snapshot(None, include_finished=False), b.fleet.fleet_jobs()
    )
    assert view["fleet"] is True
    by_id = {j["job_id"]: j for j in view["jobs"]}
    assert (by_id[2]["host"], by_id[2]["this_host"], by_id[2]["state"]) == (
        "host-b",
        True,
        "pending",
    )
    assert (by_id[1]["host"], by_id[1]["this_host"], by_id[1]["state"]) == (
        "host-a",
        False,
        "running",
    )
    assert "extras" not in by_id[1]
    assert "https://example.org" not in str(by_id[1])  # the job's extras never leave its host


def test_two_hosts_stopping_the_same_job_at_once_stop_its_app_once() -> None:
    outcomes, apps = stop_outcomes([_request(1, 5), _request(2, 5)], {KEY: 5}.get)
    assert outcomes == [(1, StopOutcome.STOPPED), (2, StopOutcome.STOPPED)]
    assert apps == [APP]


# -- stop requests heard at once (LISTEN/NOTIFY) --------------------------------------------------


class _CountingFleet:
    """A fleet store with no requests that counts how often they were read."""

    host_id = "host-a"

    def __init__(self) -> None:
        self.reads = 0
        self.reading = threading.Event()
        self.go_on = threading.Event()

    def open_stop_requests(self) -> list[StopRequest]:
        self.reads += 1
        self.reading.set()
        assert self.go_on.wait(5), "the test never let the read finish"
        return []


async def test_stop_notifications_are_coalesced_and_another_hosts_are_ignored() -> None:
    fleet = _CountingFleet()
    desk = FleetDesk(FakeRuntime(), fleet)  # type: ignore[arg-type]
    desk.stop_requested("host-c")  # sent to another host: not this one's to pick up
    assert desk.pick_ups == 0
    first = desk.pick_up_now()
    assert await asyncio.to_thread(fleet.reading.wait, 5)  # a pick-up is under way
    for _ in range(50):  # a burst meanwhile
        desk.stop_requested("host-a")
    desk.stop_requested("")  # nobody held the job: any host may hold it now
    fleet.go_on.set()
    await first
    assert desk.pick_ups == 2  # the one under way, and exactly one more
    assert fleet.reads == 2


@pg
async def test_a_stop_request_reaches_the_holder_at_once_not_at_its_tick(
    postgres_url: str,
) -> None:
    from uidt.daemon.leases import LeaseKeeper
    from uidt.store.pg_wake import WakeListener

    long_lease_ms = 60_000  # its tick comes every 20 s: it cannot explain a stop within 5 s
    a = PostgresJobStore(postgres_url, host_id="host-a", lease_ms=long_lease_ms)
    b = PostgresJobStore(postgres_url, host_id="host-b", lease_ms=long_lease_ms)
    try:
        a.put_job(make_record(job_id=1, extra={"generation": 5}))
        desk_a, runtime_a = _desk(a)
        runtime_a.service.jobs[KEY] = _Status(5)
        listener = WakeListener(postgres_url, backoff_s=(0.05,))
        keeper = LeaseKeeper(a, print, wakes=listener)
        keeper.on_stop_request = desk_a.stop_requested
        running = asyncio.create_task(keeper.run())
        try:
            deadline = time.monotonic() + 10
            while not listener.listening:  # bounded poll: the listener connected
                assert time.monotonic() < deadline, "the listener never connected"
                await asyncio.sleep(0.01)
            sent_at = time.monotonic()
            await asyncio.to_thread(b.fleet.request_stop, KEY, 5)
            deadline = sent_at + 5
            while "user_stop com.example" not in runtime_a.log:
                assert time.monotonic() < deadline, "the stop waited for the holder's tick"
                await asyncio.sleep(0.01)
            assert time.monotonic() - sent_at < keeper.period_s
            deadline = time.monotonic() + 5
            while True:  # settled by host-a once its stop's writes were durable
                (request,) = await asyncio.to_thread(lambda: b.fleet.fleet_jobs().stop_requests)
                if request.outcome is not None:
                    break
                assert time.monotonic() < deadline, "the request was never settled"
                await asyncio.sleep(0.01)
            assert (request.outcome, request.done_by) == (StopOutcome.STOPPED, "host-a")
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
    finally:
        a.close()
        b.close()


@pg
async def test_a_stop_for_a_job_that_moved_is_carried_out_as_the_new_holder_claims_it(
    postgres_url: str,
) -> None:
    """The request names host-a (the holder when sent), which died; host-c claims the job
    after its lease expired and carries the request out with that claim: no tick of host-c
    runs here at all (before, it waited for host-c's next tick, up to a third of the lease)."""
    from uidt.daemon.leases import LeaseKeeper

    clock = LeaseClock()
    with StoreHosts(postgres_url, lease_ms=60_000, clock=clock) as hosts:
        a, b, c = hosts.open("host-a"), hosts.open("host-b"), hosts.open("host-c")
        a.put_job(make_record(job_id=1, extra={"generation": 5}))
        desk_b, _ = _desk(b)
        (sent,) = (await desk_b.stop_app(APP))["sent"]
        assert sent["sent_to"] == "host-a"
        clock.advance(60_000)  # host-a died: its lease expired
        desk_c, runtime_c = _desk(c)
        keeper = LeaseKeeper(c, print, on_claimed=runtime_c.adopt)
        keeper.on_stop_request = desk_c.stop_requested
        await keeper.claim_now()
        assert desk_c._picking is not None  # the claim asked for a pick-up at once
        await asyncio.wait_for(desk_c._picking, 10)
        assert runtime_c.log[:2] == [f"adopt {KEY}", "user_stop com.example"]
        (done,) = b.fleet.fleet_jobs().stop_requests
        assert (done.outcome, done.done_by) == (StopOutcome.STOPPED, "host-c")
