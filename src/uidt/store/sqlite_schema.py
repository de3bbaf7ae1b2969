"""Opening an SQLite job store: refuse foreign or newer files, WAL mode, migrations.

Used by :class:`~uidt.store.sqlite.SqliteJobStore` when it opens its file (see its module doc).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Literal

from uidt.errors import StoreCorruptError, StoreError, StoreVersionError
from uidt.job.key import JobKey
from uidt.store.migrations import migrations

VERSION_TABLE = "uidt_schema_version"
_OUR_TABLES = frozenset({VERSION_TABLE, "jobs", "apps", "notifications", "meta", "device_readings"})
_CORRUPT_HINTS = ("not a database", "malformed", "corrupt")

Synchronous = Literal["FULL", "NORMAL"]


@contextmanager
def guard(path: Path, what: str) -> Iterator[None]:
    """Map sqlite3 errors to StoreError / StoreCorruptError naming the file."""
    try:
        yield
    except sqlite3.Error as exc:
        text = str(exc)
        kind = StoreCorruptError if any(h in text for h in _CORRUPT_HINTS) else StoreError
        raise kind(f"job store {path}: {what} failed: {text}") from exc


def tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {str(row[0]) for row in rows}


def prepare(conn: sqlite3.Connection, path: Path, synchronous: Synchronous) -> set[JobKey]:
    """Check and migrate a freshly opened file; returns the keys of its persisted jobs.

    Raises:
        StoreCorruptError: not an SQLite database, or one holding other tables.
        StoreVersionError: a schema newer than this uidt knows (the file is left untouched).
        sqlite3.Error: anything else (the caller maps it with :func:`guard`).
    """
    try:
        found = tables(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreCorruptError(
            f"{path} is not a uidt job store (not an SQLite database: {exc})"
        ) from exc
    if found and VERSION_TABLE not in found:
        raise StoreCorruptError(
            f"{path} is not a uidt job store: it holds other tables "
            f"({', '.join(sorted(found))}); refusing to touch it"
        )
    if VERSION_TABLE in found:  # refuse a newer schema before changing anything
        row = conn.execute(f"SELECT max(version) FROM {VERSION_TABLE}").fetchone()
        check_version(path, int(row[0] or 0))
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(f"cannot put job store {path} in WAL mode (got {mode})")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    migrate(conn, path)
    return {
        JobKey(app, ns or None, job_id)
        for app, ns, job_id in conn.execute("SELECT app, namespace, job_id FROM jobs")
    }


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply the missing migrations in one ``BEGIN IMMEDIATE`` transaction."""
    known = migrations("sqlite")
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} ("
            "version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, "
            "applied_utc_ms INTEGER NOT NULL)"
        )
        row = conn.execute(f"SELECT max(version) FROM {VERSION_TABLE}").fetchone()
        current = int(row[0] or 0)
        check_version(path, current)
        for migration in known[current:]:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {VERSION_TABLE} (version, name, applied_utc_ms) VALUES (?, ?, ?)",
                (migration.version, migration.name, int(time.time() * 1000)),
            )
        missing = _OUR_TABLES - tables(conn)
        if missing:
            raise StoreCorruptError(
                f"job store {path} is at schema version {current} but lacks "
                f"table(s) {', '.join(sorted(missing))}"
            )
        conn.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):  # keep the original error
            conn.execute("ROLLBACK")
        raise


def check_version(path: Path, current: int) -> None:
    known = migrations("sqlite")
    latest = known[-1].version if known else 0
    if current > latest:
        raise StoreVersionError(
            f"job store {path} has schema version {current}, but this uidt knows "
            f"only up to {latest}; upgrade uidt (the file was left untouched)"
        )
