"""Which apps have persisted jobs, read before the store is opened (a restarted daemon's prestart)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from uidt.store.peek import apps_with_persisted_jobs
from uidt.store.sqlite import SqliteJobStore
from uidt.testing.store_contract import make_record


def test_the_apps_of_the_persisted_jobs_are_read(tmp_path: Path) -> None:
    path = tmp_path / "uidt.db"
    with SqliteJobStore(path) as store:
        store.put_job(make_record("org.one", 1))
        store.put_job(make_record("org.one", 2))
        store.put_job(make_record("org.two", 1, namespace="ns"))
        store.put_job(make_record("org.volatile", 1, persisted=False))
        # Read while the store is still open, as after a kill -9: the rows are in the WAL.
        assert apps_with_persisted_jobs(f"sqlite:///{path}", tmp_path) == {"org.one", "org.two"}
    assert apps_with_persisted_jobs("sqlite://", tmp_path) == {"org.one", "org.two"}


def test_a_missing_store_is_not_created(tmp_path: Path) -> None:
    assert apps_with_persisted_jobs("sqlite://", tmp_path) == set()
    assert list(tmp_path.iterdir()) == []


def test_a_store_that_is_not_ours_reads_as_none_and_is_left_as_it_was(tmp_path: Path) -> None:
    garbage = tmp_path / "uidt.db"
    garbage.write_bytes(b"not a database at all" * 100)
    assert apps_with_persisted_jobs("sqlite://", tmp_path) == set()
    assert garbage.read_bytes() == b"not a database at all" * 100
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE jobs (name TEXT)")  # a jobs table without an app column
    conn.close()
    before = foreign.read_bytes()
    assert apps_with_persisted_jobs(f"sqlite:///{foreign}", tmp_path) == set()
    assert foreign.read_bytes() == before


def test_stores_without_a_file_have_no_apps(tmp_path: Path) -> None:
    for url in ("memory://", "postgresql://db/x", "nosuchstore://x"):
        assert apps_with_persisted_jobs(url, tmp_path) == set()


def test_a_store_another_process_holds_exclusively_reads_as_none(tmp_path: Path) -> None:
    """The glance gives up on a lock instead of waiting for it (the store proper then decides)."""
    path = tmp_path / "uidt.db"
    with SqliteJobStore(path) as store:
        store.put_job(make_record("org.one", 1))
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("DELETE FROM jobs")
        assert apps_with_persisted_jobs("sqlite://", tmp_path) == set()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert apps_with_persisted_jobs("sqlite://", tmp_path) == {"org.one"}


def test_a_store_path_that_loops_reads_as_none(tmp_path: Path) -> None:
    loop = tmp_path / "uidt.db"
    loop.symlink_to(tmp_path / "other.db")
    (tmp_path / "other.db").symlink_to(loop)
    assert apps_with_persisted_jobs("sqlite://", tmp_path) == set()
    assert apps_with_persisted_jobs(f"sqlite:///{tmp_path}/uidt.db/inside.db", tmp_path) == set()
