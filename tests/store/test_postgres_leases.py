"""Leases and fencing of the shared PostgreSQL store: two (or more) store instances are two hosts
on one database; lease time is moved by hand (a shared fake clock), never waited for."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest

from uidt.errors import LeaseLostError, UidtError
from uidt.job.key import JobKey
from uidt.store.base import Heartbeat
from uidt.store.postgres import PostgresJobStore
from uidt.store.writer import StoreWriter
from uidt.testing.pghosts import LeaseClock, StoreHosts
from uidt.testing.store_contract import make_notification, make_record

pytestmark = pytest.mark.postgres

LEASE_MS = 10_000
KEY = JobKey("com.example", None, 1)


@pytest.fixture
def clock() -> LeaseClock:
    return LeaseClock()


@pytest.fixture
def host(postgres_url: str, clock: LeaseClock) -> Iterator[Callable[[str], PostgresJobStore]]:
    """Opens a store instance as the named host; all are closed after the test."""
    with StoreHosts(postgres_url, lease_ms=LEASE_MS, clock=clock) as hosts:
        yield hosts.open


def _row(url: str, key: JobKey = KEY) -> tuple[str | None, int, int] | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT lease_owner, lease_generation, lease_expires_utc_ms FROM uidt_jobs "
            "WHERE app = %s AND job_id = %s",
            (key.app, key.job_id),
        ).fetchone()
    return None if row is None else (row[0], int(row[1]), int(row[2]))


def test_lease_lost_is_a_store_error_under_the_root() -> None:
    assert issubclass(LeaseLostError, UidtError)


def test_writing_a_job_takes_its_lease(host: Callable[[str], PostgresJobStore]) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record())
    assert a.lease_owner(KEY) == "a"
    assert b.lease_owner(KEY) == "a"
    assert list(a.held()) == [KEY]
    assert b.claim() == []  # a live lease is not claimable


def test_claims_never_overlap_when_hosts_race(host: Callable[[str], PostgresJobStore]) -> None:
    scheduler = host("scheduler")
    for job_id in range(200):
        scheduler.put_job(make_record(job_id=job_id))
    scheduler.release_all()
    hosts = [host(f"h{n}") for n in range(4)]
    claimed: dict[str, list[JobKey]] = {h.host_id: [] for h in hosts}
    start = threading.Barrier(len(hosts))
    errors: list[BaseException] = []

    def drain(store: PostgresJobStore) -> None:
        try:
            start.wait()
            while batch := store.claim(limit=3):
                claimed[store.host_id] += [r.key for r in batch]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(h,)) for h in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    every = [key for keys in claimed.values() for key in keys]
    assert len(every) == 200
    assert len(set(every)) == 200  # no job claimed twice
    assert sum(1 for keys in claimed.values() if keys) >= 2  # they really raced
    for store in hosts:  # each host holds exactly what it claimed
        assert sorted(store.held(), key=str) == sorted(claimed[store.host_id], key=str)


def test_expired_lease_is_taken_over_with_a_higher_generation(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock, postgres_url: str
) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record(num_failures=2, extra={"bytes": 10}))
    before = _row(postgres_url)
    assert before is not None
    clock.advance(LEASE_MS - 1)
    assert b.claim() == []  # not yet
    clock.advance(1)
    assert a.lease_owner(KEY) is None  # expired: nobody holds it
    (taken,) = b.claim()
    assert taken.key == KEY
    assert taken.extra == {"bytes": 10}  # the last checkpoint comes along
    assert taken.num_failures == 0  # loaded as after a restart
    after = _row(postgres_url)
    assert after is not None
    assert after[0] == "b"
    assert after[1] > before[1]
    assert after[2] == clock.now + LEASE_MS


def test_stale_writer_is_refused_and_changes_nothing(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock, postgres_url: str
) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record(extra={"by": "a"}))
    clock.advance(LEASE_MS)
    b.claim()
    b.put_job(make_record(extra={"by": "b"}))
    row = _row(postgres_url)
    with pytest.raises(LeaseLostError) as caught:
        a.put_job(make_record(extra={"by": "a, back from the dead"}))
    assert caught.value.key == KEY
    assert "host a lost its lease" in str(caught.value)
    assert a.remove_job(KEY) is False  # not a's to remove any more
    stored = b.get_job(KEY)
    assert stored is not None
    assert stored.extra == {"by": "b"}
    assert _row(postgres_url) == row
    assert KEY not in a.held()


def test_heartbeat_renews_and_reports_a_lost_lease(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock, postgres_url: str
) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record(job_id=1))
    a.put_job(make_record(job_id=2))
    clock.advance(LEASE_MS // 2)
    assert a.heartbeat() == Heartbeat(held=2, lost=())
    clock.advance(LEASE_MS // 2)
    assert b.claim() == []  # renewed: still a's
    clock.advance(LEASE_MS)
    assert [r.key.job_id for r in b.claim(limit=1)] == [1]
    assert a.heartbeat() == Heartbeat(held=1, lost=(KEY,))
    assert a.heartbeat() == Heartbeat(held=1, lost=())  # told once
    assert list(a.held()) == [JobKey("com.example", None, 2)]


def test_an_expired_lease_nobody_took_is_still_the_holders(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock
) -> None:
    a = host("a")
    a.put_job(make_record())
    clock.advance(3 * LEASE_MS)  # a was frozen; nobody claimed meanwhile
    a.put_job(make_record(extra={"still": "mine"}))  # same generation: nobody else wrote
    assert a.lease_owner(KEY) == "a"
    assert a.heartbeat() == Heartbeat(held=1, lost=())


def test_release_at_shutdown_hands_jobs_over_at_once(
    host: Callable[[str], PostgresJobStore],
) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record(job_id=1))
    a.put_job(make_record(job_id=2))
    a.release_all()
    a.close()
    assert b.lease_owner(KEY) is None
    assert [r.key.job_id for r in b.claim()] == [1, 2]  # no waiting for the expiry


def test_a_restarted_host_adopts_its_jobs_and_fences_its_old_self(
    host: Callable[[str], PostgresJobStore],
) -> None:
    old = host("a")
    old.put_job(make_record())
    new = host("a")  # the same host id after a restart (the old process hangs on)
    assert [r.key for r in new.load_jobs()] == [KEY]
    with pytest.raises(LeaseLostError):
        old.put_job(make_record(extra={"zombie": True}))
    new.put_job(make_record(extra={"fresh": True}))


def test_a_job_held_elsewhere_cannot_be_scheduled_over(
    host: Callable[[str], PostgresJobStore],
) -> None:
    a, b, c = host("a"), host("b"), host("c")
    a.put_job(make_record(extra={"by": "a"}))
    with pytest.raises(LeaseLostError):
        b.put_job(make_record(extra={"by": "b"}))
    assert b.remove_job(KEY) is False  # b was told: its own clean-up is a no-op
    with pytest.raises(LeaseLostError):
        c.remove_job(KEY)
    stored = a.get_job(KEY)
    assert stored is not None
    assert stored.extra == {"by": "a"}


def test_a_removed_and_rescheduled_job_never_reuses_a_generation(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock
) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record())
    clock.advance(LEASE_MS)
    b.claim()
    assert b.remove_job(KEY) is True
    b.put_job(make_record(extra={"second": "life"}))  # a new row of the same key
    with pytest.raises(LeaseLostError):
        a.put_job(make_record())
    stored = b.get_job(KEY)
    assert stored is not None
    assert stored.extra == {"second": "life"}


def test_the_writer_reports_a_lost_lease_and_keeps_the_other_writes(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock
) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record())
    clock.advance(LEASE_MS)
    b.claim()
    lost: list[JobKey] = []
    writer = StoreWriter(a, lease_lost=lost.append)
    try:
        with writer.batch():
            writer.put_job(make_record(extra={"stale": True}))
            writer.put_job(make_record(job_id=2))
            writer.put_notification(make_notification())
        writer.flush()
    finally:
        writer.close()
    assert lost == [KEY]
    assert [n.notification_id for n in host("a").notifications()] == [1]  # host-a's own
    assert b.lease_owner(JobKey("com.example", None, 2)) == "a"
    stored = b.get_job(KEY)
    assert stored is not None
    assert "stale" not in stored.extra


def test_a_lost_jobs_stale_write_never_takes_it_back_even_after_the_new_holder_died(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock
) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record(extra={"done": 10}))
    clock.advance(LEASE_MS)
    b.claim()
    b.put_job(make_record(extra={"done": 90}))
    assert a.heartbeat().lost == (KEY,)
    clock.advance(LEASE_MS)  # b died too: the lease is free to claim
    with pytest.raises(LeaseLostError):
        a.put_job(make_record(extra={"done": 10}))  # a's stale view, queued before it knew
    stored = a.get_job(KEY)
    assert stored is not None
    assert stored.extra == {"done": 90}
    (taken,) = a.claim()  # claiming properly brings the newest record
    assert taken.extra == {"done": 90}
    a.put_job(make_record(extra={"done": 95}))


def test_a_lost_job_that_ended_elsewhere_can_be_scheduled_again(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock
) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record())
    clock.advance(LEASE_MS)
    b.claim()
    assert a.heartbeat().lost == (KEY,)
    assert b.remove_job(KEY) is True  # it finished on b
    a.put_job(make_record(extra={"again": True}))
    assert a.lease_owner(KEY) == "a"
