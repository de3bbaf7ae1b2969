"""Opening a PostgreSQL job store: connect, refuse a newer schema, run the migrations.

Used by :class:`~uidt.store.postgres.PostgresJobStore` when it opens (see its module doc).
Migrations (``store/sql/postgresql/NNNN_name.sql``) run in one transaction that first takes a
transaction-scoped advisory lock, so hosts starting together migrate one after the other (the
second finds the work done). A schema newer than this uidt knows is refused before anything is
changed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from uidt.errors import StoreError, StoreVersionError
from uidt.store.migrations import migrations

VERSION_TABLE = "uidt_schema_version"
DIALECT = "postgresql"
#: ``pg_advisory_xact_lock`` key held while migrating ("uidt" in ASCII).
MIGRATION_LOCK = 0x75696474
_OUR_TABLES = frozenset(
    {
        VERSION_TABLE,
        "uidt_jobs",
        "uidt_apps",
        "uidt_notifications",
        "uidt_meta",
        "uidt_device_readings",
        "uidt_stop_requests",
        "uidt_host_runs",
    }
)


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{netloc}"))


@contextmanager
def guard(url: str, what: str) -> Iterator[None]:
    """Map psycopg errors to :class:`~uidt.errors.StoreError` naming the (redacted) store."""
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"job store {redact(url)}: {what} failed: {text}") from exc


def latest_version() -> int:
    known = migrations(DIALECT)
    return known[-1].version if known else 0


def check_version(url: str, current: int) -> None:
    """Refuse a schema newer than this uidt knows.

    Raises:
        StoreVersionError: ``current`` is past the last migration shipped.
    """
    latest = latest_version()
    if current > latest:
        raise StoreVersionError(
            f"job store {redact(url)} has schema version {current}, but this uidt knows only "
            f"up to {latest}; upgrade uidt on this host (the database was left untouched)"
        )


def _current_version(conn: Any) -> int | None:
    """The schema version, or ``None`` when the version table does not exist yet."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (VERSION_TABLE,)).fetchone()
    if not row[0]:
        return None
    row = conn.execute(f"SELECT max(version) FROM {VERSION_TABLE}").fetchone()
    return int(row[0] or 0)


def prepare(conn: Any, url: str) -> None:
    """Check and migrate the database behind ``conn`` (an autocommit psycopg connection).

    Raises:
        StoreVersionError: a newer schema (nothing changed).
        StoreError: the schema lacks one of our tables after migrating.
        psycopg.Error: anything else (the caller maps it with :func:`guard`).
    """
    current = _current_version(conn)
    if current is not None:  # refuse a newer schema before taking any lock
        check_version(url, current)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} ("
            "version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, "
            "applied_utc_ms BIGINT NOT NULL)"
        )
        current = _current_version(conn) or 0
        check_version(url, current)
        for migration in migrations(DIALECT)[current:]:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {VERSION_TABLE} (version, name, applied_utc_ms) VALUES (%s, %s, %s)",
                (migration.version, migration.name, int(time.time() * 1000)),
            )
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
        missing = _OUR_TABLES - {str(r[0]) for r in rows}
        if missing:
            raise StoreError(
                f"job store {redact(url)} is at schema version {current} but lacks "
                f"table(s) {', '.join(sorted(missing))}"
            )
