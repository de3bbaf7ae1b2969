"""PostgreSQL-specific behaviour: migrations, a newer schema refused, an unreachable server,
durable commits (the shared contract is in tests/contract)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from uidt.errors import StoreCorruptError, StoreError, StoreVersionError
from uidt.store.base import JobStore, LeasingJobStore
from uidt.store.migrations import migrations
from uidt.store.pg_schema import VERSION_TABLE, redact
from uidt.store.postgres import PostgresJobStore
from uidt.store.url import open_store
from uidt.testing.store_contract import make_record

pytestmark = pytest.mark.postgres


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_new_database_records_every_migration_once(postgres_url: str) -> None:
    for _ in range(2):
        with PostgresJobStore(postgres_url, host_id="h") as store:
            store.put_job(make_record())
    rows = _rows(postgres_url, f"SELECT version, name FROM {VERSION_TABLE} ORDER BY version")
    assert rows == [(m.version, m.name) for m in migrations("postgresql")]
    assert rows[0] == (1, "initial")


def test_hosts_starting_together_migrate_once(postgres_url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_one(n: int) -> None:
        try:
            start.wait()
            PostgresJobStore(postgres_url, host_id=f"h{n}").close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _rows(postgres_url, f"SELECT count(*) FROM {VERSION_TABLE}") == [
        (len(migrations("postgresql")),)
    ]


def test_newer_schema_is_refused_and_left_untouched(postgres_url: str) -> None:
    with PostgresJobStore(postgres_url, host_id="h") as store:
        store.put_job(make_record())
    with psycopg.connect(postgres_url) as conn:
        conn.execute(f"INSERT INTO {VERSION_TABLE} VALUES (999, 'from_the_future', 0)")
    before = _rows(postgres_url, "SELECT app, job_id, record, lease_generation FROM uidt_jobs")
    with pytest.raises(StoreVersionError, match=r"schema version 999.*upgrade uidt"):
        PostgresJobStore(postgres_url, host_id="h")
    assert _rows(postgres_url, "SELECT app, job_id, record, lease_generation FROM uidt_jobs") == (
        before
    )


def test_unreachable_server_is_one_clear_error(tmp_path: Path) -> None:
    url = f"postgresql://alice:s3cret@/uidt?host={tmp_path}&port=5999"
    with pytest.raises(StoreError) as caught:
        PostgresJobStore(url, host_id="h")
    message = str(caught.value)
    assert "connecting failed" in message
    assert str(tmp_path) in message  # it says where it looked
    assert "s3cret" not in message  # and never prints the password
    assert "\n" not in message


def test_redact_hides_only_the_password() -> None:
    assert redact("postgresql://a:pw@db:5432/x") == "postgresql://a:***@db:5432/x"
    assert redact("postgresql://a@db/x") == "postgresql://a@db/x"


def test_persisted_job_is_committed_before_put_job_returns(postgres_url: str) -> None:
    with PostgresJobStore(postgres_url, host_id="h") as store:
        store.put_job(make_record(job_id=7))
        store.put_job(make_record(job_id=8, persisted=False))
        # another session sees it at once: no transaction was left open
        assert _rows(postgres_url, "SELECT job_id FROM uidt_jobs") == [(7,)]


def test_commits_are_synchronous_whatever_the_server_default(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        assert name is not None
        conn.execute(f'ALTER DATABASE "{name[0]}" SET synchronous_commit = off')
    with PostgresJobStore(postgres_url, host_id="h") as store, store._pool.connection() as conn:
        row = conn.execute("SHOW synchronous_commit").fetchone()
        assert row is not None
        assert row[0] == "on"


def test_open_store_opens_postgresql_urls(postgres_url: str, tmp_path: Path) -> None:
    with open_store(postgres_url, tmp_path, host_id="rack-1", lease_ms=5_000) as store:
        assert isinstance(store, JobStore)
        assert isinstance(store, LeasingJobStore)
        assert (store.host_id, store.lease_ms) == ("rack-1", 5_000)
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_job_row_is_a_clear_error_and_left_alone(postgres_url: str) -> None:
    with PostgresJobStore(postgres_url, host_id="h") as store:
        store.put_job(make_record())
    with psycopg.connect(postgres_url) as conn:
        conn.execute("UPDATE uidt_jobs SET record = 'not a job', lease_owner = NULL")
    with (
        PostgresJobStore(postgres_url, host_id="h") as store,
        pytest.raises(StoreCorruptError, match="unreadable job"),
    ):
        store.load_jobs()
    assert _rows(postgres_url, "SELECT record FROM uidt_jobs") == [("not a job",)]


def test_a_table_of_ours_planted_without_the_schema_is_refused(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE uidt_jobs (note TEXT)")
        conn.execute("INSERT INTO uidt_jobs VALUES ('mine')")
    with pytest.raises(StoreError, match="uidt_jobs"):
        PostgresJobStore(postgres_url, host_id="h")
    assert _rows(postgres_url, "SELECT note FROM uidt_jobs") == [("mine",)]
