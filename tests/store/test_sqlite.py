"""SQLite-specific behaviour: WAL, durability pragma, migrations, refusing foreign or newer files."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from uidt.errors import StoreCorruptError, StoreError, StoreVersionError
from uidt.job.key import JobKey
from uidt.store.base import JobStore, LeasingJobStore
from uidt.store.batch import DropJob, PutJob, PutNotification
from uidt.store.memory import MemoryJobStore
from uidt.store.migrations import migrations
from uidt.store.sqlite import VERSION_TABLE, SqliteJobStore
from uidt.testing.store_contract import make_notification, make_reading, make_record


def _pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


def test_new_file_is_wal_and_records_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "uidt.db"
    with SqliteJobStore(path):
        pass
    assert _pragma(path, "journal_mode") == "wal"
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            f"SELECT version, name FROM {VERSION_TABLE} ORDER BY version"
        ).fetchall()
    assert rows == [(m.version, m.name) for m in migrations("sqlite")]
    assert rows[0] == (1, "initial")


def test_reopen_does_not_reapply_migrations(tmp_path: Path) -> None:
    path = tmp_path / "uidt.db"
    for _ in range(3):
        with SqliteJobStore(path) as store:
            store.put_job(make_record())
    with sqlite3.connect(path) as conn:
        count = conn.execute(f"SELECT count(*) FROM {VERSION_TABLE}").fetchone()[0]
    assert count == len(migrations("sqlite"))


def test_synchronous_full_by_default(tmp_path: Path) -> None:
    with SqliteJobStore(tmp_path / "a.db") as store:
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with SqliteJobStore(tmp_path / "b.db", synchronous="NORMAL") as store:
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "uidt.db"
    content = b"these are my holiday notes, not a database\n" * 100
    path.write_bytes(content)
    with pytest.raises(StoreCorruptError, match=str(path)):
        SqliteJobStore(path)
    assert path.read_bytes() == content


def test_foreign_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "uidt.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE photos (name TEXT)")
        conn.execute("INSERT INTO photos VALUES ('cat.jpg')")
    before = path.read_bytes()
    with pytest.raises(StoreCorruptError, match="photos") as caught:
        SqliteJobStore(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before


def test_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "uidt.db"
    with SqliteJobStore(path) as store:
        store.put_job(make_record())
    latest = migrations("sqlite")[-1].version
    with sqlite3.connect(path) as conn:
        conn.execute(f"INSERT INTO {VERSION_TABLE} VALUES (?, 'from_the_future', 0)", (latest + 5,))
    before = path.read_bytes()
    with pytest.raises(StoreVersionError) as caught:
        SqliteJobStore(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"version {latest + 5}" in message
    assert f"up to {latest}" in message
    assert path.read_bytes() == before


def test_missing_tables_of_a_known_version_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "uidt.db"
    with SqliteJobStore(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE notifications")
    with pytest.raises(StoreCorruptError, match="notifications"):
        SqliteJobStore(path)


def test_unreadable_job_row_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "uidt.db"
    with SqliteJobStore(path) as store:
        store.put_job(make_record())
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE jobs SET record = '{\"key\": 1}'")
    with SqliteJobStore(path) as store, pytest.raises(StoreCorruptError, match=str(path)):
        store.load_jobs()


def test_directory_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory"):
        SqliteJobStore(tmp_path)


def test_errors_derive_from_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="is a directory"):
        SqliteJobStore(tmp_path)


def test_use_after_close_is_a_store_error(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "uidt.db")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.jobs()


def test_volatile_jobs_never_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "uidt.db"
    with SqliteJobStore(path) as store:
        store.put_job(make_record(persisted=False))
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 0


def test_a_second_process_sees_a_committed_put(tmp_path: Path) -> None:
    path = tmp_path / "uidt.db"
    with SqliteJobStore(path) as writer:
        writer.put_job(make_record(extra={"n": 1}))
        with SqliteJobStore(path) as reader:
            assert [r.extra for r in reader.jobs()] == [{"n": 1}]


def test_threads_share_one_store(tmp_path: Path) -> None:
    with SqliteJobStore(tmp_path / "uidt.db") as store:

        def write(base: int) -> None:
            for offset in range(25):
                store.put_job(make_record(job_id=base + offset, persisted=offset % 2 == 0))
                store.count_for_app("com.example")

        threads = [threading.Thread(target=write, args=(n * 100,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert store.count_for_app("com.example") == 100
        assert len(store.load_jobs()) == 52


def test_stores_satisfy_the_protocols(tmp_path: Path) -> None:
    with SqliteJobStore(tmp_path / "uidt.db") as sqlite_store:
        assert isinstance(sqlite_store, JobStore)
        assert not isinstance(sqlite_store, LeasingJobStore)
    assert isinstance(MemoryJobStore(), JobStore)


def test_a_batch_is_one_transaction_kept_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "uidt.db"
    with SqliteJobStore(path) as store:
        store.put_job(make_record(job_id=3))
        with sqlite3.connect(path) as conn:  # the third write of the batch will fail
            conn.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON notifications "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        writes = [
            PutJob(make_record(job_id=1)),
            PutJob(make_record(job_id=2, persisted=False)),
            PutJob(make_record(job_id=3, persisted=False)),  # replaces the persisted one
            PutNotification(make_notification()),
        ]
        with pytest.raises(StoreError, match="refused"):
            store.write_batch(writes)
        assert [r.key.job_id for r in store.jobs()] == [3]
        assert store.jobs()[0].persisted
        assert store.count_for_app("com.example") == 1
        store.write_batch([*writes[:3], DropJob(JobKey("com.example", None, 2))])
        assert [(r.key.job_id, r.persisted) for r in store.jobs()] == [(1, True), (3, False)]
    with SqliteJobStore(path) as again:
        assert [r.key.job_id for r in again.load_jobs()] == [1]


def test_a_version_1_store_gains_the_device_readings_and_keeps_its_jobs(tmp_path: Path) -> None:
    path = tmp_path / "uidt.db"
    with SqliteJobStore(path) as store:
        store.put_job(make_record())
    with sqlite3.connect(path) as conn:  # as uidt before schema version 2 left it
        conn.execute("DROP TABLE device_readings")
        conn.execute(f"DELETE FROM {VERSION_TABLE} WHERE version >= 2")
    with SqliteJobStore(path) as store:
        assert [r.key for r in store.load_jobs()] == [make_record().key]
        store.add_device_readings([make_reading(5)], 0, 10)
        assert store.device_readings() == [make_reading(5)]


@pytest.mark.parametrize(
    "planted",
    ["not json", '{"network": "carrier-pigeon"}', '{"at_utc_ms": "soon"}'],
)
def test_an_unreadable_device_reading_is_corrupt(tmp_path: Path, planted: str) -> None:
    path = tmp_path / "uidt.db"
    with SqliteJobStore(path) as store:
        store.add_device_readings([make_reading(1)], 0, 10)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE device_readings SET reading = ?", (planted,))
    with SqliteJobStore(path) as store, pytest.raises(StoreCorruptError, match="device reading"):
        store.device_readings()
