"""Host requirements in the shared PostgreSQL store: a host claims only the jobs whose labels it
has; a job written by a host lacking them is stored free to claim, and its writer learns when
another host took it. Each store instance is a host; lease time is moved by hand."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import psycopg
import pytest

from uidt.errors import LeaseLostError
from uidt.job.key import JobKey
from uidt.store.postgres import PostgresJobStore
from uidt.store.record import JobRecord
from uidt.testing.store_contract import make_record

pytestmark = pytest.mark.postgres

LEASE_MS = 10_000
NOW = 1_700_000_000_000

Host = Callable[..., PostgresJobStore]


def labelled(job_id: int, *labels: str, **fields: object) -> JobRecord:
    record = make_record(job_id=job_id, **fields)
    record.job = dataclasses.replace(record.job, required_host_labels=tuple(sorted(labels)))
    return record


def key(job_id: int) -> JobKey:
    return JobKey("com.example", None, job_id)


@pytest.fixture
def host(postgres_url: str) -> Iterator[Host]:
    opened: list[PostgresJobStore] = []

    def open_host(name: str, *labels: str) -> PostgresJobStore:
        store = PostgresJobStore(
            postgres_url, host_id=name, lease_ms=LEASE_MS, clock=lambda: NOW, host_labels=labels
        )
        opened.append(store)
        return store

    yield open_host
    for store in opened:
        store.close()


def _owner(url: str, job_id: int) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT lease_owner FROM uidt_jobs WHERE job_id = %s", (job_id,)
        ).fetchone()
    assert row is not None
    return None if row[0] is None else str(row[0])


def test_each_host_claims_only_the_jobs_whose_labels_it_has(host: Host, postgres_url: str) -> None:
    laptop, gpu, plain = host("laptop"), host("gpu", "gpu-rack", "ssd"), host("plain", "ssd")
    laptop.put_job(labelled(1, "gpu-rack"))
    laptop.put_job(labelled(2))  # no labels: the scheduling host holds it, as before
    laptop.put_job(labelled(3, "gpu-rack", "ssd"))
    laptop.put_job(labelled(4, "nvme"))  # no host has it
    laptop.put_job(labelled(5, "ssd"))
    assert set(laptop.held()) == {key(2)}
    assert [_owner(postgres_url, n) for n in (1, 3, 4, 5)] == [None] * 4
    assert [r.key for r in plain.claim()] == [key(5)]
    assert [r.key for r in gpu.claim()] == [key(1), key(3)]
    # hostile: idle hosts without the label never take job 4, however often they look
    for store in (laptop, gpu, plain):
        assert store.claim() == []
        assert key(4) not in {r.key for r in store.load_jobs()}
    assert _owner(postgres_url, 4) is None


def test_the_writer_of_an_offered_job_learns_that_another_host_took_it(host: Host) -> None:
    laptop, gpu = host("laptop"), host("gpu", "gpu-rack")
    laptop.put_job(labelled(1, "gpu-rack"))
    laptop.put_job(labelled(1, "gpu-rack", extra={"v": 2}))  # an update while unclaimed
    assert laptop.heartbeat().lost == ()
    [record] = gpu.claim()
    assert record.extra == {"v": 2}
    assert laptop.heartbeat().lost == (key(1),)
    assert laptop.heartbeat().lost == ()  # told once
    with pytest.raises(LeaseLostError):
        laptop.put_job(labelled(1, "gpu-rack", extra={"stale": True}))
    assert laptop.remove_job(key(1)) is False  # not the laptop's to remove any more
    kept = gpu.get_job(key(1))
    assert kept is not None
    assert kept.extra == {"v": 2}


def test_the_writer_may_cancel_its_offered_job_until_it_is_claimed(host: Host) -> None:
    laptop, gpu = host("laptop"), host("gpu", "gpu-rack")
    laptop.put_job(labelled(1, "gpu-rack"))
    assert laptop.remove_job(key(1)) is True
    assert gpu.claim() == []
    assert laptop.heartbeat().lost == ()


def test_a_held_job_rescheduled_with_labels_this_host_lacks_is_handed_over(host: Host) -> None:
    laptop, gpu = host("laptop"), host("gpu", "gpu-rack")
    laptop.put_job(labelled(1))
    assert list(laptop.held()) == [key(1)]
    laptop.put_job(labelled(1, "gpu-rack"))
    assert laptop.held() == {}
    assert [r.key for r in gpu.claim()] == [key(1)]


def test_a_restarted_host_without_the_label_gives_its_old_jobs_back(host: Host) -> None:
    before = host("x", "gpu-rack")
    before.put_job(labelled(1, "gpu-rack"))
    before.put_job(labelled(2))
    after = host("x")  # the same host id, restarted without the label
    assert [r.key for r in after.load_jobs()] == [key(2)]
    assert [r.key for r in host("gpu", "gpu-rack").claim()] == [key(1)]


def test_notifications_say_when_a_job_becomes_free_to_claim(host: Host, postgres_url: str) -> None:
    laptop = host("laptop")
    with psycopg.connect(postgres_url, autocommit=True) as listener:
        listener.execute("LISTEN uidt_jobs")
        laptop.put_job(labelled(2))  # held by its writer: nobody else may claim it
        laptop.put_job(labelled(1, "gpu-rack"))  # free to claim
        laptop.release([key(2)])  # free to claim
        got = [n.payload for n in listener.notifies(timeout=5, stop_after=2)]
    assert got == ["com.example/1", "com.example/2"]


def test_a_claim_of_a_free_job_tells_its_writer_naming_it_as_the_store_does(
    host: Host, postgres_url: str
) -> None:
    laptop, gpu = host("laptop"), host("gpu", "gpu-rack")
    with psycopg.connect(postgres_url, autocommit=True) as listener:
        listener.execute("LISTEN uidt_jobs")
        listener.execute("LISTEN uidt_jobs_taken")
        laptop.put_job(labelled(1, "gpu-rack", namespace="photos"))
        laptop.put_job(labelled(2, namespace="photos"))
        laptop.release([JobKey("com.example", "photos", 2)])
        gpu.claim()
        got = [(n.channel, n.payload) for n in listener.notifies(timeout=5, stop_after=4)]
    assert sorted(got) == [
        ("uidt_jobs", "com.example/photos:1"),
        ("uidt_jobs", "com.example/photos:2"),
        ("uidt_jobs_taken", "com.example/photos:1"),
        ("uidt_jobs_taken", "com.example/photos:2"),
    ]
    assert str(JobKey("com.example", "photos", 1)) == "com.example/photos:1"
