"""``SqliteJobStore``: the embedded default store, one SQLite file in WAL mode.

Durability: every write is one transaction on one connection. With ``synchronous=FULL`` (the
default) SQLite fsyncs the write-ahead log at each commit, so a persisted job is on disk before
``put_job`` returns and survives a SIGKILL *and* a power cut. With ``synchronous=NORMAL`` the WAL is
only fsynced at checkpoints: commits survive a process crash (SIGKILL) but the last ones can be lost
on power loss or an OS crash, which would break the promise made to a client whose
``schedule()`` returned — so NORMAL is offered for benchmarks and throwaway stores only.

Non-persisted jobs never touch the file: they live in a dictionary beside the connection and
vanish with the process, as on Android.

Opening never overwrites or repairs anything: a file that is not an SQLite database, or one that
holds tables but not our schema-version table, raises :class:`~uidt.errors.StoreCorruptError`; a
schema newer than this uidt knows raises :class:`~uidt.errors.StoreVersionError`. Migrations
(``store/sql/sqlite/NNNN_name.sql``) run at open inside one ``BEGIN IMMEDIATE`` transaction and
are recorded in ``uidt_schema_version``.
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any

from uidt.device.history import BadReadingError, DeviceReading
from uidt.errors import StoreError
from uidt.job.key import JobKey
from uidt.store import codec
from uidt.store.base import (
    StoreContextMixin,
    sort_key,
)
from uidt.store.batch import StoreWrite, apply_write_on
from uidt.store.record import AppRecord, JobRecord, NotificationRecord
from uidt.store.sqlite_schema import VERSION_TABLE, Synchronous, guard, prepare

__all__ = ["VERSION_TABLE", "SqliteJobStore", "Synchronous"]


def _ns(namespace: str | None) -> str:
    return "" if namespace is None else namespace


def _make_private(path: Path) -> None:
    """Create the store file 0600 (or tighten it to 0600): it holds URLs with passwords.

    SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        with suppress(FileNotFoundError):
            sidecar = path.with_name(path.name + suffix)
            if sidecar.stat().st_mode & 0o077:
                sidecar.chmod(0o600)


class SqliteJobStore(StoreContextMixin):
    """A :class:`~uidt.store.base.JobStore` in one SQLite file; thread-safe by one lock.

    Args:
        path: the database file; created (with its parent folder) if missing.
        synchronous: ``"FULL"`` (durable against power loss, the default) or ``"NORMAL"``.

    Raises:
        StoreCorruptError: the file is not a uidt store.
        StoreVersionError: the file was written by a newer uidt.
        StoreError: the file cannot be opened or migrated.
    """

    def __init__(self, path: Path | str, *, synchronous: Synchronous = "FULL") -> None:
        self.path = Path(path)
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        self._lock = threading.Lock()
        self._volatile: dict[JobKey, JobRecord] = {}
        self._persisted_keys: set[JobKey] = set()
        self._closed = False
        if self.path.is_dir():
            raise StoreError(f"job store {self.path} is a directory")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _make_private(self.path)
            self._conn = sqlite3.connect(
                os.fspath(self.path), isolation_level=None, check_same_thread=False, timeout=30
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open job store {self.path}: {exc}") from exc
        try:
            with self._guard("open"):
                self._persisted_keys = prepare(self._conn, self.path, synchronous)
        except BaseException:
            self._conn.close()
            raise

    # -- plumbing -------------------------------------------------------------------------

    def _guard(self, what: str) -> AbstractContextManager[None]:
        return guard(self.path, what)

    @contextmanager
    def _locked(self, what: str, *, transaction: bool = False) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if not transaction:
                if self._closed:
                    raise StoreError(f"job store {self.path} is closed")
                with self._guard(what):
                    yield self._conn
                return
            with self._transaction(what) as conn:
                yield conn

    @contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE … COMMIT`` (rolled back on an error); the caller holds the lock."""
        if self._closed:
            raise StoreError(f"job store {self.path} is closed")
        with self._guard(what):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                with suppress(sqlite3.Error):  # keep the original error
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _decode_job(self, text: str) -> JobRecord:
        with codec.unreadable(str(self.path), "job"):
            return codec.job_record_from_json(text)

    def _persisted_rows(self, where: str = "", args: tuple[Any, ...] = ()) -> list[JobRecord]:
        rows = self._conn.execute(f"SELECT record FROM jobs {where}", args).fetchall()
        return [self._decode_job(row[0]) for row in rows]

    # -- jobs -----------------------------------------------------------------------------

    def put_job(self, record: JobRecord) -> None:
        with self._locked("put_job") as conn:
            self._put_job(conn, record)

    def _put_job(self, conn: sqlite3.Connection, record: JobRecord) -> None:
        key = record.key
        if record.persisted:
            conn.execute(
                "INSERT OR REPLACE INTO jobs (app, namespace, job_id, record) VALUES (?, ?, ?, ?)",
                (key.app, _ns(key.namespace), key.job_id, codec.job_record_to_json(record)),
            )
            self._persisted_keys.add(key)
            self._volatile.pop(key, None)
            return
        if key in self._persisted_keys:
            self._delete_persisted(conn, key)
        self._volatile[key] = copy.deepcopy(record)

    def _delete_persisted(self, conn: sqlite3.Connection, key: JobKey) -> bool:
        cursor = conn.execute(
            "DELETE FROM jobs WHERE app = ? AND namespace = ? AND job_id = ?",
            (key.app, _ns(key.namespace), key.job_id),
        )
        self._persisted_keys.discard(key)
        return cursor.rowcount > 0

    def remove_job(self, key: JobKey) -> bool:
        with self._locked("remove_job") as conn:
            return self._remove_job(conn, key)

    def _remove_job(self, conn: sqlite3.Connection, key: JobKey) -> bool:
        if self._volatile.pop(key, None) is not None:
            return True
        if key not in self._persisted_keys:
            return False
        return self._delete_persisted(conn, key)

    def get_job(self, key: JobKey) -> JobRecord | None:
        with self._locked("get_job"):
            volatile = self._volatile.get(key)
            if volatile is not None:
                return copy.deepcopy(volatile)
            if key not in self._persisted_keys:
                return None
            found = self._persisted_rows(
                "WHERE app = ? AND namespace = ? AND job_id = ?",
                (key.app, _ns(key.namespace), key.job_id),
            )
            return found[0] if found else None

    def jobs(self) -> list[JobRecord]:
        with self._locked("jobs"):
            found = self._persisted_rows()
            found += [copy.deepcopy(r) for r in self._volatile.values()]
        return sorted(found, key=sort_key)

    def count_for_app(self, app: str) -> int:
        with self._locked("count_for_app"):
            persisted = sum(1 for k in self._persisted_keys if k.app == app)
            return persisted + sum(1 for k in self._volatile if k.app == app)

    def load_jobs(self) -> list[JobRecord]:
        with self._locked("load_jobs"):
            found = self._persisted_rows()
        for record in found:
            record.num_failures = 0
            record.num_system_stops = 0
        return sorted(found, key=sort_key)

    # -- apps -----------------------------------------------------------------------------

    def put_app(self, record: AppRecord) -> None:
        with self._locked("put_app") as conn:
            self._put_app(conn, record)

    def _put_app(self, conn: sqlite3.Connection, record: AppRecord) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO apps (package, record) VALUES (?, ?)",
            (record.package, codec.app_record_to_json(record)),
        )

    def _decode_app(self, text: str) -> AppRecord:
        with codec.unreadable(str(self.path), "app"):
            return codec.app_record_from_json(text)

    def get_app(self, package: str) -> AppRecord | None:
        with self._locked("get_app") as conn:
            row = conn.execute("SELECT record FROM apps WHERE package = ?", (package,)).fetchone()
        return None if row is None else self._decode_app(row[0])

    def apps(self) -> list[AppRecord]:
        with self._locked("apps") as conn:
            rows = conn.execute("SELECT record FROM apps ORDER BY package").fetchall()
        return [self._decode_app(row[0]) for row in rows]

    def remove_app(self, package: str) -> bool:
        with self._locked("remove_app", transaction=True) as conn:
            return self._remove_app(conn, package)

    def _remove_app(self, conn: sqlite3.Connection, package: str) -> bool:
        conn.execute("DELETE FROM jobs WHERE app = ?", (package,))
        conn.execute("DELETE FROM notifications WHERE app = ?", (package,))
        removed = conn.execute("DELETE FROM apps WHERE package = ?", (package,)).rowcount > 0
        self._persisted_keys = {k for k in self._persisted_keys if k.app != package}
        self._volatile = {k: r for k, r in self._volatile.items() if k.app != package}
        return removed

    # -- notifications --------------------------------------------------------------------

    def put_notification(self, record: NotificationRecord) -> None:
        with self._locked("put_notification") as conn:
            self._put_notification(conn, record)

    def _put_notification(self, conn: sqlite3.Connection, record: NotificationRecord) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO notifications (app, notification_id, record) VALUES (?, ?, ?)",
            (record.app, record.notification_id, codec.notification_record_to_json(record)),
        )

    def remove_notification(self, app: str, notification_id: int) -> bool:
        with self._locked("remove_notification") as conn:
            return self._remove_notification(conn, app, notification_id)

    def _remove_notification(
        self, conn: sqlite3.Connection, app: str, notification_id: int
    ) -> bool:
        cursor = conn.execute(
            "DELETE FROM notifications WHERE app = ? AND notification_id = ?",
            (app, notification_id),
        )
        return cursor.rowcount > 0

    def load_notifications(self) -> list[NotificationRecord]:
        return self.notifications()

    def notifications(self) -> list[NotificationRecord]:
        with self._locked("notifications") as conn:
            rows = conn.execute(
                "SELECT record FROM notifications ORDER BY app, notification_id"
            ).fetchall()
        with codec.unreadable(str(self.path), "notification"):
            return [codec.notification_record_from_json(row[0]) for row in rows]

    # -- device readings ------------------------------------------------------------------

    def add_device_readings(
        self, readings: Sequence[DeviceReading], keep_since_utc_ms: int, keep_at_most: int
    ) -> None:
        with self._locked("add_device_readings", transaction=True) as conn:
            self._add_readings(conn, readings, keep_since_utc_ms, keep_at_most)

    def _add_readings(
        self,
        conn: sqlite3.Connection,
        readings: Sequence[DeviceReading],
        keep_since_utc_ms: int,
        keep_at_most: int,
    ) -> None:
        conn.executemany(
            "INSERT INTO device_readings (at_utc_ms, reading) VALUES (?, ?)",
            [(r.at_utc_ms, json.dumps(r.to_dict(), sort_keys=True)) for r in readings],
        )
        # by age, keeping the newest older one (the state at the window's start) ...
        conn.execute(
            "DELETE FROM device_readings WHERE id < "
            "(SELECT max(id) FROM device_readings WHERE at_utc_ms < ?)",
            (keep_since_utc_ms,),
        )
        # ... then by count
        conn.execute(
            "DELETE FROM device_readings WHERE id <= "
            "(SELECT id FROM device_readings ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (max(0, keep_at_most),),
        )

    def device_readings(self) -> list[DeviceReading]:
        with self._locked("device_readings") as conn:
            rows = conn.execute("SELECT reading FROM device_readings ORDER BY id").fetchall()
        with codec.unreadable(str(self.path), "device reading", (BadReadingError, ValueError)):
            return [DeviceReading.from_dict(json.loads(row[0])) for row in rows]

    def write_batch(self, writes: Sequence[StoreWrite]) -> None:
        """Carry out ``writes`` in order in one transaction: one commit, one WAL fsync.

        On an error nothing of the batch is kept, on disk or in the non-persisted jobs.
        """
        with self._lock:
            volatile, persisted = dict(self._volatile), set(self._persisted_keys)
            try:
                with self._transaction("write_batch") as conn:
                    for write in writes:
                        apply_write_on(self, conn, write)
            except BaseException:
                self._volatile, self._persisted_keys = volatile, persisted
                raise

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent); non-persisted jobs are dropped."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._volatile.clear()
            self._conn.close()
