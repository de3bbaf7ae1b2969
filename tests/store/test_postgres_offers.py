"""Offering a held job to the fleet (``PostgresJobStore.offering``: ``offer``, ``reclaim``):
the lease given back with a new generation, the listening hosts told, the offerer's claims
skipping it, and exactly one host getting it whoever comes first. Each store instance is a host; lease time is
moved by hand."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from uidt.errors import LeaseLostError
from uidt.job.key import JobKey
from uidt.store.fleet import OFFERED_EXPIRY
from uidt.store.postgres import PostgresJobStore
from uidt.testing.pghosts import LeaseClock
from uidt.testing.store_contract import make_record

pytestmark = pytest.mark.postgres

LEASE_MS = 10_000

Host = Callable[[str], PostgresJobStore]


def key(job_id: int) -> JobKey:
    return JobKey("com.example", None, job_id)


@pytest.fixture
def clock() -> LeaseClock:
    return LeaseClock()


@pytest.fixture
def host(postgres_url: str, clock: LeaseClock) -> Iterator[Host]:
    opened: list[PostgresJobStore] = []

    def open_host(name: str) -> PostgresJobStore:
        store = PostgresJobStore(postgres_url, host_id=name, lease_ms=LEASE_MS, clock=clock)
        opened.append(store)
        return store

    yield open_host
    for store in opened:
        store.close()


def _row(url: str, job_id: int) -> tuple[str | None, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT lease_owner, lease_generation FROM uidt_jobs WHERE job_id = %s", (job_id,)
        ).fetchone()
    assert row is not None
    return row[0], int(row[1])


def test_an_offered_job_is_free_with_a_new_generation_and_the_hosts_are_told(
    host: Host, postgres_url: str
) -> None:
    a = host("a")
    a.put_job(make_record(job_id=1))
    before = a.held()[key(1)]
    with psycopg.connect(postgres_url, autocommit=True) as listener:
        listener.execute("LISTEN uidt_jobs")
        assert a.offering.offer([key(1), key(2)]) == [key(1)]  # job 2 is not held: left alone
        heard = [n.payload for n in listener.notifies(timeout=2, stop_after=1)]
    assert heard == ["com.example/1"]
    owner, generation = _row(postgres_url, 1)
    assert owner is None
    assert generation > before
    assert a.held() == {}
    assert a.offering.offered == [key(1)]
    assert a.heartbeat().lost == ()  # still free: still this host's copy


def test_the_offerer_never_claims_its_offer_and_another_host_takes_it(host: Host) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record(job_id=1))
    a.put_job(make_record(job_id=2))
    a.offering.offer([key(1)])
    assert a.claim() == []  # its own offer is not for its claims
    assert [r.key for r in b.claim()] == [key(1)]
    assert a.heartbeat().lost == (key(1),)  # a forgets its copy
    assert a.offering.offered == []
    assert set(a.held()) == {key(2)}


def test_the_offerer_takes_its_offer_back_before_anyone_else(host: Host, postgres_url: str) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record(job_id=1))
    a.offering.offer([key(1)])
    offered_gen = _row(postgres_url, 1)[1]
    generation = a.offering.reclaim(key(1))
    assert generation > offered_gen
    assert a.held() == {key(1): generation}
    assert a.offering.offered == []
    assert b.claim() == []  # held again: nobody else takes it
    assert a.heartbeat().lost == ()


def test_hostile_the_offerer_comes_too_late_and_must_not_start_it(host: Host) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record(job_id=1))
    a.offering.offer([key(1)])
    assert len(b.claim()) == 1
    with pytest.raises(LeaseLostError):
        a.offering.reclaim(key(1))
    assert a.held() == {}
    assert a.offering.offered == []
    assert set(b.held()) == {key(1)}
    # its stale write is refused too: the row stays b's
    with pytest.raises(LeaseLostError):
        a.put_job(make_record(job_id=1, num_failures=3))
    assert set(b.held()) == {key(1)}
    assert b.heartbeat().lost == ()


def test_a_write_of_an_offered_job_by_its_offerer_takes_it_back_fenced(
    host: Host, postgres_url: str
) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record(job_id=1))
    a.put_job(make_record(job_id=2))
    a.offering.offer([key(1), key(2)])
    a.put_job(make_record(job_id=1))  # nobody took it: a holds it again
    assert _row(postgres_url, 1)[0] == "a"
    assert [r.key for r in b.claim()] == [key(2)]
    with pytest.raises(LeaseLostError):  # taken meanwhile: refused, b's row untouched
        a.put_job(make_record(job_id=2))
    assert _row(postgres_url, 2)[0] == "b"


def test_hostile_a_host_killed_after_offering_leaves_the_job_claimable(
    host: Host, postgres_url: str
) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record(job_id=1))
    a.offering.offer([key(1)])
    a.close()  # killed: no release, no heartbeat ever again
    assert [r.key for r in b.claim()] == [key(1)]  # at once, no expiry to wait for
    assert _row(postgres_url, 1)[0] == "b"


def test_hostile_a_crash_between_giving_back_and_forgetting_never_runs_it_twice(
    host: Host, postgres_url: str, clock: LeaseClock
) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record(job_id=1))
    a.offering.offer([key(1)])
    a.close()  # crashed before learning that another host took it
    assert len(b.claim()) == 1
    b_gen = b.held()[key(1)]
    a2 = host("a")  # the restarted host: it adopts its own rows, never another's claim
    assert key(1) not in {r.key for r in a2.load_jobs()}
    with pytest.raises(LeaseLostError):
        a2.offering.reclaim(key(1))
    assert _row(postgres_url, 1) == ("b", b_gen)
    clock.advance(LEASE_MS // 2)
    assert b.heartbeat().lost == ()


def test_the_claims_of_a_host_skip_the_jobs_it_excludes(host: Host) -> None:
    a, b = host("a"), host("b")
    for job_id in (1, 2, 3):
        a.put_job(make_record(job_id=job_id))
    a.offering.offer([key(1), key(2), key(3)])
    assert [r.key for r in b.offering.claim(exclude=[key(1), key(3)])] == [key(2)]
    assert [r.key for r in b.claim(limit=1)] == [key(1)]


def test_a_job_claimed_from_an_offer_is_known_so_and_the_fleet_view_says_offered(
    host: Host,
) -> None:
    a, b = host("a"), host("b")
    a.put_job(make_record(job_id=1))
    a.put_job(make_record(job_id=2))
    a.offering.offer([key(1)])
    a.release([key(2)])  # given back, as at a clean shutdown: it may have run
    [offered, free] = sorted(b.fleet.fleet_jobs().jobs, key=lambda j: j.record.key.job_id)
    assert offered.host is None
    assert offered.lease_expires_utc_ms == OFFERED_EXPIRY
    assert free.lease_expires_utc_ms != OFFERED_EXPIRY
    assert [r.key for r in b.claim()] == [key(1), key(2)]
    assert b.offering.from_offer(key(1))  # its first run on b is no takeover of a run
    assert not b.offering.from_offer(key(2))


def test_many_jobs_are_offered_in_one_statement_each_told_once(
    host: Host, postgres_url: str
) -> None:
    a = host("a")
    for job_id in range(1, 201):
        a.put_job(make_record(job_id=job_id))
    with psycopg.connect(postgres_url, autocommit=True) as listener:
        listener.execute("LISTEN uidt_jobs")
        done = a.offering.offer([key(n) for n in range(200, 0, -1)])
        heard = [n.payload for n in listener.notifies(timeout=2, stop_after=200)]
    assert done == [key(n) for n in range(200, 0, -1)]  # in the order given
    assert sorted(heard) == sorted(f"com.example/{n}" for n in range(1, 201))
    assert a.held() == {}
    assert len(set(a.offering.offered)) == 200
