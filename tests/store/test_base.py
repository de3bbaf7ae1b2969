"""The ``JobStore`` protocol is what the daemon calls, nothing more (issue 21)."""

from __future__ import annotations

from pathlib import Path

from uidt.store.base import JobStore
from uidt.store.memory import MemoryJobStore
from uidt.store.sqlite import SqliteJobStore
from uidt.store.writer import StoreWriter

#: What the runtime, the store writer and ``uidt.store.batch`` call on a store.
DAEMON_CALLS = {
    "put_job",
    "remove_job",
    "load_jobs",
    "load_notifications",  # a restarted daemon shows the detached ones again
    "put_app",
    "get_app",
    "apps",
    "remove_app",
    "put_notification",
    "remove_notification",
    "add_device_readings",
    "device_readings",
    "close",
}


def _public(cls: type) -> set[str]:
    return {n for n in vars(cls) if not n.startswith("_") and callable(getattr(cls, n))}


def test_the_protocol_is_what_the_daemon_calls() -> None:
    assert _public(JobStore) == DAEMON_CALLS


def test_the_writer_offers_what_the_runtime_calls_on_it() -> None:
    reads_and_writes = DAEMON_CALLS - {"close"}
    assert reads_and_writes <= _public(StoreWriter)


def test_both_stores_still_satisfy_the_protocol(tmp_path: Path) -> None:
    with MemoryJobStore() as memory, SqliteJobStore(tmp_path / "x.db") as sqlite:
        assert isinstance(memory, JobStore)
        assert isinstance(sqlite, JobStore)
