"""One view of the fleet on the shared PostgreSQL store: every job with its host, stop requests
that follow a job to whichever host holds it, each host's own notifications (docs/fleet.md).
Several store instances are several hosts on one database; lease time is moved by hand."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import psycopg
import pytest

from uidt.job.key import JobKey
from uidt.store.fleet import FleetStore, HasFleet, StopOutcome
from uidt.store.pg_fleet import KEEP_SETTLED_MS
from uidt.store.postgres import PostgresJobStore
from uidt.testing.pghosts import LeaseClock, StoreHosts
from uidt.testing.store_contract import make_notification, make_record

pytestmark = pytest.mark.postgres

LEASE_MS = 10_000
KEY = JobKey("com.example", None, 1)
OTHER = JobKey("com.example", None, 2)


@pytest.fixture
def clock() -> LeaseClock:
    return LeaseClock()


@pytest.fixture
def host(postgres_url: str, clock: LeaseClock) -> Iterator[Callable[[str], PostgresJobStore]]:
    """Opens a store instance as the named host; all are closed after the test."""
    with StoreHosts(postgres_url, lease_ms=LEASE_MS, clock=clock) as hosts:
        yield hosts.open


def test_the_postgres_store_is_a_fleet_store(host: Callable[[str], PostgresJobStore]) -> None:
    store = host("a")
    assert isinstance(store, HasFleet)
    assert isinstance(store.fleet, FleetStore)


# -- the fleet view ------------------------------------------------------------------------------


def test_every_job_is_listed_with_its_host_and_whether_it_runs_there(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock
) -> None:
    a, b = host("host-a"), host("host-b")
    a.put_job(make_record(job_id=1))
    b.put_job(make_record(job_id=2))
    a.fleet.publish_running([KEY])
    b.fleet.publish_running([])
    seen = {job.record.key: job for job in b.fleet.fleet_jobs().jobs}
    assert (seen[KEY].host, seen[KEY].running, seen[KEY].expired) == ("host-a", True, False)
    assert (seen[OTHER].host, seen[OTHER].running) == ("host-b", False)
    snapshot = b.fleet.fleet_jobs()
    assert set(snapshot.hosts) == {"host-a", "host-b"}
    assert snapshot.now_utc_ms == clock.now

    clock.now += LEASE_MS  # host-a died: its lease ran out, nobody claimed the job yet
    seen = {job.record.key: job for job in b.fleet.fleet_jobs().jobs}
    assert (seen[KEY].host, seen[KEY].expired, seen[KEY].running) == ("host-a", True, False)


def test_the_view_carries_the_holders_notification_of_the_job(
    host: Callable[[str], PostgresJobStore],
) -> None:
    a, b = host("host-a"), host("host-b")
    a.put_job(make_record(job_id=1))
    a.put_notification(make_notification())
    (job,) = b.fleet.fleet_jobs().jobs
    assert job.notification is not None
    assert job.notification.notification["title"] == "Downloading"


# -- claiming named jobs -------------------------------------------------------------------------


def test_claiming_named_jobs_takes_only_free_or_expired_ones(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock
) -> None:
    a, b = host("host-a"), host("host-b")
    a.put_job(make_record(job_id=1))
    a.put_job(make_record(job_id=2))
    assert b.fleet.claim_jobs([KEY, OTHER]) == []  # host-a holds both
    a.release([OTHER])
    assert [r.key for r in b.fleet.claim_jobs([KEY, OTHER])] == [OTHER]
    assert set(b.held()) == {OTHER}
    clock.now += LEASE_MS
    assert [r.key for r in b.fleet.claim_jobs([KEY])] == [KEY]


# -- stop requests -------------------------------------------------------------------------------


def test_a_stop_request_goes_to_the_host_holding_the_job(
    host: Callable[[str], PostgresJobStore],
) -> None:
    a, b = host("host-a"), host("host-b")
    a.put_job(make_record(job_id=1, extra={"generation": 7}))
    request = b.fleet.request_stop(KEY, 7)
    assert (request.sent_to, request.requested_by, request.job_generation) == (
        "host-a",
        "host-b",
        7,
    )
    assert not request.done
    assert b.fleet.open_stop_requests() == []  # not host-b's to carry out
    (picked,) = a.fleet.open_stop_requests()
    assert picked.request_id == request.request_id
    assert b.fleet.fleet_jobs().jobs[0].stop_request == request  # open: the view says "sent"

    a.fleet.settle_stop_requests([(request.request_id, StopOutcome.STOPPED)])
    done = b.fleet.fleet_jobs().jobs[0].stop_request
    assert done is not None
    assert (done.done_by, done.outcome) == ("host-a", StopOutcome.STOPPED)
    assert a.fleet.open_stop_requests() == []
    # a second settling (a late duplicate) keeps the first outcome
    a.fleet.settle_stop_requests([(request.request_id, StopOutcome.STALE)])
    assert b.fleet.fleet_jobs().stop_requests[0].outcome is StopOutcome.STOPPED


def test_a_request_for_a_job_that_moved_to_a_third_host_reaches_that_host(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock
) -> None:
    """Sent to host-a, which died before its next look; host-c claims the job and finds the
    request, host-a (back from a freeze) finds nothing: it no longer holds the job."""
    a, b, c = host("host-a"), host("host-b"), host("host-c")
    a.put_job(make_record(job_id=1, extra={"generation": 3}))
    request = b.fleet.request_stop(KEY, 3)
    assert request.sent_to == "host-a"
    clock.now += LEASE_MS
    assert [r.key for r in c.claim()] == [KEY]
    assert a.fleet.open_stop_requests() == []
    assert [r.request_id for r in c.fleet.open_stop_requests()] == [request.request_id]


def test_a_request_for_a_job_that_ended_before_anyone_looked_is_settled_gone(
    host: Callable[[str], PostgresJobStore],
) -> None:
    a, b = host("host-a"), host("host-b")
    a.put_job(make_record(job_id=1))
    request = b.fleet.request_stop(KEY, 1)
    assert a.remove_job(KEY)  # it finished on host-a meanwhile
    assert a.fleet.open_stop_requests() == []
    (done,) = b.fleet.fleet_jobs().stop_requests
    assert (done.request_id, done.outcome) == (request.request_id, StopOutcome.GONE)


def test_a_request_for_a_free_job_names_no_host(
    host: Callable[[str], PostgresJobStore],
) -> None:
    a, b = host("host-a"), host("host-b")
    a.put_job(make_record(job_id=1))
    a.release_all()
    assert b.fleet.request_stop(KEY, 1).sent_to is None


def test_settled_requests_are_pruned_a_day_after_but_open_ones_never(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock
) -> None:
    a, b = host("host-a"), host("host-b")
    a.put_job(make_record(job_id=1, extra={"generation": 1}))
    b.put_job(make_record(job_id=2, extra={"generation": 1}))
    old = b.fleet.request_stop(KEY, 1)
    a.fleet.settle_stop_requests([(old.request_id, StopOutcome.STOPPED)])
    clock.now += KEEP_SETTLED_MS - 1000
    recent = b.fleet.request_stop(KEY, 1)
    a.fleet.settle_stop_requests([(recent.request_id, StopOutcome.STOPPED)])
    waiting = a.fleet.request_stop(OTHER, 1)  # open: host-b has not looked yet
    clock.now += 1001  # the first one was settled a day and a millisecond ago
    a.heartbeat()
    b.heartbeat()  # both leases renewed with the moved clock
    assert a.fleet.open_stop_requests() == []  # host-a's look for requests prunes
    kept = {r.request_id for r in b.fleet.fleet_jobs().stop_requests}
    assert kept == {recent.request_id, waiting.request_id}
    clock.now += 10 * KEEP_SETTLED_MS  # however old, an open request is kept
    b.heartbeat()
    assert [r.request_id for r in b.fleet.open_stop_requests()] == [waiting.request_id]
    assert {r.request_id for r in b.fleet.fleet_jobs().stop_requests} == {waiting.request_id}


# -- each host's own notifications ---------------------------------------------------------------


def test_each_host_loads_only_its_own_notifications(
    host: Callable[[str], PostgresJobStore],
) -> None:
    a, b = host("host-a"), host("host-b")
    mine = make_notification()
    theirs = dataclasses.replace(mine, notification={"title": "host-b's"})
    a.put_notification(mine)
    b.put_notification(theirs)  # the same app and id on another host: a row of its own
    assert a.load_notifications() == [mine]
    assert b.load_notifications() == [theirs]
    assert b.remove_notification(mine.app, mine.notification_id)
    assert a.load_notifications() == [mine]  # host-b removed its own only
    assert b.load_notifications() == []


def test_notifications_from_before_the_host_column_go_to_the_first_host_that_loads(
    host: Callable[[str], PostgresJobStore], postgres_url: str
) -> None:
    a, b = host("host-a"), host("host-b")
    a.put_notification(make_notification())
    with psycopg.connect(postgres_url) as conn:  # as schema version 3 left it
        conn.execute("UPDATE uidt_notifications SET host_id = ''")
    assert [n.notification_id for n in b.load_notifications()] == [1]
    assert a.load_notifications() == []


def test_a_job_scheduled_anew_on_a_host_that_did_not_hold_it_supersedes_its_open_requests(
    host: Callable[[str], PostgresJobStore], clock: LeaseClock
) -> None:
    """Each host numbers its own schedulings: a fresh one elsewhere may carry the same number as
    the one a stop was sent for, so a new scheduling (a write of a job the host did not hold)
    settles the open requests as stale rather than letting them stop it."""
    a, b, c = host("host-a"), host("host-b"), host("host-c")
    a.put_job(make_record(job_id=1, extra={"generation": 5}))
    request = b.fleet.request_stop(KEY, 5)
    clock.now += LEASE_MS  # host-a died; host-c's app schedules the same id anew
    c.put_job(make_record(job_id=1, extra={"generation": 5}))
    assert c.fleet.open_stop_requests() == []
    (done,) = b.fleet.fleet_jobs().stop_requests
    assert (done.request_id, done.outcome, done.done_by) == (
        request.request_id,
        StopOutcome.STALE,
        "host-c",
    )
    # a write of a job the host holds (progress, a checkpoint) leaves a request open
    second = b.fleet.request_stop(KEY, 5)
    c.put_job(make_record(job_id=1, extra={"generation": 5}, cumulative_runtime_ms=9))
    assert [r.request_id for r in c.fleet.open_stop_requests()] == [second.request_id]
