"""Writes while the shared store's database is away: a fast, clear error, nothing acknowledged
lost (docs/fleet.md; the breaker is ``uidt.store.pg_outage``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from uidt.errors import StoreError
from uidt.job.key import JobKey
from uidt.store.pg_outage import OUTAGE_WAIT_S, OutageBreaker
from uidt.store.postgres import CONNECT_TIMEOUT_S, PostgresJobStore
from uidt.testing.postgres import ClusterUnavailable, TemporaryCluster
from uidt.testing.store_contract import make_record

DEADLINE_S = 30.0


def test_the_breaker_shortens_the_wait_while_the_database_is_away() -> None:
    now = [10.0]
    breaker = OutageBreaker(CONNECT_TIMEOUT_S, monotonic=lambda: now[0])
    assert breaker.wait_s() == CONNECT_TIMEOUT_S
    assert breaker.wait_s(at_most=1.0) == 1.0
    breaker.failed()
    now[0] += 3
    breaker.failed()  # still down since the first failure
    assert breaker.wait_s() == OUTAGE_WAIT_S
    assert breaker.down_for_s() == 3
    breaker.succeeded()
    assert breaker.wait_s() == CONNECT_TIMEOUT_S
    assert breaker.down_for_s() is None


@pytest.fixture
def cluster() -> Iterator[TemporaryCluster]:
    """A cluster of its own: the test stops its server."""
    own = TemporaryCluster()
    try:
        own.start()
    except ClusterUnavailable as exc:
        pytest.skip(f"no PostgreSQL for this test: {exc}")
    try:
        yield own
    finally:
        own.stop()


@pytest.mark.postgres
@pytest.mark.slow  # about 6 s: a cluster of its own, stopped and started again
def test_a_write_during_an_outage_fails_fast_and_clearly_and_nothing_acknowledged_is_lost(
    cluster: TemporaryCluster,
) -> None:
    url = cluster.new_database()
    with PostgresJobStore(url, host_id="a", lease_ms=3_000) as store:
        store.put_job(make_record(job_id=1))  # acknowledged
        cluster.stop_server()
        calls: list[tuple[str, Callable[[], object]]] = [
            ("put_job", lambda: store.put_job(make_record(job_id=2))),  # the first to meet it
            ("heartbeat", store.heartbeat),
            ("put_job", lambda: store.put_job(make_record(job_id=2))),
        ]
        for name, call in calls:
            began = time.monotonic()
            with pytest.raises(StoreError, match=f"{name} failed: the database cannot be reached"):
                call()
            # a failed connection attempt ends the wait: not CONNECT_TIMEOUT_S (10 s) as before
            # (a bound with room to spare, not a measurement)
            assert time.monotonic() - began < CONNECT_TIMEOUT_S / 2
        cluster.start_server()
        deadline = time.monotonic() + DEADLINE_S
        while True:  # the pool reconnects in the background: poll, bounded
            try:
                store.put_job(make_record(job_id=2))
                break
            except StoreError:
                assert time.monotonic() < deadline, "the store never came back"
                time.sleep(0.1)  # noqa: TID251 - polling a real server, bounded
        keys = {r.key for r in store.jobs()}
    assert keys == {JobKey("com.example", None, 1), JobKey("com.example", None, 2)}
