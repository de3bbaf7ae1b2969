"""``StoreWriter``: writes coalesce per slot, share commits, and ``sync()`` is a real barrier."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from uidt.errors import StoreError
from uidt.job.key import JobKey
from uidt.store.batch import DropApp, PutApp, StoreWrite, apply_write
from uidt.store.memory import MemoryJobStore
from uidt.store.sqlite import SqliteJobStore
from uidt.store.writer import StoreWriter
from uidt.testing.store_contract import make_app, make_notification, make_record

FOREVER = 3600.0  # a linger no test waits out: only sync()/flush()/close() commit


class RecordingStore(MemoryJobStore):
    """A memory store that records each batch and can hold a commit until released."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[StoreWrite]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail_next = False
        self.threads: set[int] = set()

    def write_batch(self, writes: Sequence[StoreWrite]) -> None:
        self.threads.add(threading.get_ident())
        self.entered.set()
        assert self.gate.wait(10), "the test never released the commit"
        if self.fail_next:
            self.fail_next = False
            raise StoreError("disk full")
        self.batches.append(list(writes))
        for write in writes:
            apply_write(self, write)


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore()


@pytest.fixture
def writer(store: RecordingStore) -> Iterator[StoreWriter]:
    writer = StoreWriter(store, linger_s=FOREVER)
    try:
        yield writer
    finally:
        store.gate.set()
        writer.close()


def test_writes_to_one_job_coalesce_and_the_last_one_wins(
    writer: StoreWriter, store: RecordingStore
) -> None:
    for seq in range(5):
        writer.put_job(make_record(job_id=1, extra={"seq": seq}))
    writer.put_job(make_record(job_id=2))
    writer.remove_job(JobKey("com.example", None, 2))
    writer.flush()
    assert len(store.batches) == 1
    assert [type(w).__name__ for w in store.batches[0]] == ["PutJob", "DropJob"]
    found = store.get_job(JobKey("com.example", None, 1))
    assert found is not None
    assert found.extra == {"seq": 4}
    assert store.get_job(JobKey("com.example", None, 2)) is None
    assert (writer.commits, writer.written) == (1, 2)


def test_a_removed_app_is_not_brought_back_by_merging(
    writer: StoreWriter, store: RecordingStore
) -> None:
    """remove_app then install again: the old jobs stay removed (the drop is not merged away)."""
    store.put_app(make_app())
    store.put_job(make_record(job_id=7))
    writer.remove_app("com.example")
    writer.put_app(make_app())
    writer.flush()
    assert [type(w) for w in store.batches[0]] == [DropApp, PutApp]
    assert store.get_app("com.example") is not None
    assert store.jobs() == []


def test_a_flush_of_the_runtime_is_one_commit(writer: StoreWriter, store: RecordingStore) -> None:
    with writer.batch():
        for job_id in range(50):
            writer.put_job(make_record(job_id=job_id))
        writer.put_notification(make_notification())
    writer.flush()
    assert len(store.batches) == 1
    assert len(store.batches[0]) == 51


async def test_sync_returns_only_after_the_commit(
    writer: StoreWriter, store: RecordingStore
) -> None:
    store.gate.clear()
    writer.put_job(make_record(job_id=1))
    barrier = asyncio.create_task(writer.sync())
    # the commit is under way on the writer thread
    assert await asyncio.to_thread(store.entered.wait, 10)
    for _ in range(20):
        await asyncio.sleep(0)
    assert not barrier.done(), "sync() returned before the commit finished"
    assert store.get_job(JobKey("com.example", None, 1)) is None
    store.gate.set()
    await asyncio.wait_for(barrier, 10)
    assert store.get_job(JobKey("com.example", None, 1)) is not None
    assert threading.get_ident() not in store.threads


async def test_sync_with_nothing_queued_returns_at_once(writer: StoreWriter) -> None:
    await asyncio.wait_for(writer.sync(), 1)


async def test_a_failed_commit_reaches_the_waiter_and_the_writes_are_retried_one_by_one(
    writer: StoreWriter, store: RecordingStore
) -> None:
    store.fail_next = True
    writer.put_job(make_record(job_id=1))
    await asyncio.wait_for(writer.sync(), 10)  # the retry one by one succeeded
    assert store.get_job(JobKey("com.example", None, 1)) is not None


async def test_a_write_that_cannot_be_committed_fails_sync(tmp_path: Path) -> None:
    inner = SqliteJobStore(tmp_path / "uidt.db")
    writer = StoreWriter(inner, linger_s=FOREVER)
    try:
        inner.close()  # every write now fails
        writer.put_job(make_record(job_id=1))
        with pytest.raises(StoreError):
            await asyncio.wait_for(writer.sync(), 10)
    finally:
        writer.close()


def test_a_write_nobody_waits_for_is_committed_after_the_linger(store: RecordingStore) -> None:
    now = [0.0]
    writer = StoreWriter(store, linger_s=0.5, monotonic=lambda: now[0])
    try:
        writer.put_job(make_record(job_id=1))
        now[0] = 1.0  # the linger has passed; the thread waits with a real timeout of 0.5 s
        writer.flush()
        assert store.get_job(JobKey("com.example", None, 1)) is not None
    finally:
        writer.close()


def test_close_commits_everything_queued(tmp_path: Path) -> None:
    path = tmp_path / "uidt.db"
    writer = StoreWriter(SqliteJobStore(path), linger_s=FOREVER)
    for job_id in range(20):
        writer.put_job(make_record(job_id=job_id))
    writer.close()
    writer.close()  # idempotent
    with SqliteJobStore(path) as again:
        assert len(again.load_jobs()) == 20
    with pytest.raises(StoreError):
        writer.put_job(make_record(job_id=99))


def test_apps_are_read_from_memory_without_waiting(
    writer: StoreWriter, store: RecordingStore
) -> None:
    store.gate.clear()
    writer.put_app(make_app("a.one"))
    mine = writer.get_app("a.one")
    assert mine is not None
    mine.granted = frozenset({"changed"})  # a copy: the writer's mirror is unchanged
    again = writer.get_app("a.one")
    assert again is not None
    assert again.granted == make_app("a.one").granted
    assert [a.package for a in writer.apps()] == ["a.one"]
    writer.remove_app("a.one")
    assert writer.get_app("a.one") is None


class Ticks:
    """A timer that moves only when a commit says so (no real time in the figures)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_each_commit_is_told_to_the_observer_with_its_duration_and_size(
    store: RecordingStore,
) -> None:
    ticks = Ticks()
    told: list[tuple[float, int, int]] = []
    plain_write_batch = store.write_batch

    def slow_write_batch(writes: Sequence[StoreWrite]) -> None:
        ticks.now += 0.25  # this commit takes a quarter of a second on the timer
        plain_write_batch(writes)

    store.write_batch = slow_write_batch  # type: ignore[method-assign]
    writer = StoreWriter(
        store,
        linger_s=FOREVER,
        timer=ticks,
        commit_observer=lambda s, n: told.append((s, n, threading.get_ident())),
    )
    try:
        writer.put_job(make_record(job_id=1))
        writer.put_job(make_record(job_id=2))
        writer.flush()
        writer.put_app(make_app())
        writer.flush()
    finally:
        writer.close()
    assert [(s, n) for s, n, _ in told] == [(0.25, 2), (0.25, 1)]
    assert threading.get_ident() not in {thread for _, _, thread in told}  # the writer's thread


def test_an_observer_that_raises_stops_no_commit(
    store: RecordingStore, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(seconds: float, writes: int) -> None:
        raise RuntimeError("observer bug")

    writer = StoreWriter(store, linger_s=FOREVER)
    writer.commit_observer = broken  # set after the start, as the metrics module does
    try:
        writer.put_job(make_record(job_id=1))
        writer.flush()
        writer.put_job(make_record(job_id=2))
        writer.flush()
    finally:
        writer.close()
    assert len(store.batches) == 2
    assert store.get_job(JobKey("com.example", None, 2)) is not None
    assert "commit observer failed" in caplog.text
