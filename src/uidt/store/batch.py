"""Store writes as values, so that several can be committed in one transaction.

The :class:`~uidt.store.writer.StoreWriter` queues these and hands a batch to
:meth:`write_batch` of a store that has one (SQLite: one ``BEGIN IMMEDIATE … COMMIT``, so one
fsync for the whole batch); :func:`apply_write` carries one out on any
:class:`~uidt.store.base.JobStore`, and :func:`apply_write_on` inside a SQL store's open
transaction (its per-connection steps, :class:`WritesOnConnection`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from uidt.device.history import DeviceReading
from uidt.job.key import JobKey
from uidt.store.base import JobStore
from uidt.store.record import AppRecord, JobRecord, NotificationRecord


@dataclass(frozen=True)
class PutJob:
    """``put_job(record)``."""

    record: JobRecord

    def slot(self) -> Hashable:
        return ("job", self.record.key)


@dataclass(frozen=True)
class DropJob:
    """``remove_job(key)``."""

    key: JobKey

    def slot(self) -> Hashable:
        return ("job", self.key)


@dataclass(frozen=True)
class PutApp:
    """``put_app(record)``."""

    record: AppRecord

    def slot(self) -> Hashable:
        return ("app", self.record.package)


@dataclass(frozen=True)
class DropApp:
    """``remove_app(package)``: the app with its jobs and notifications."""

    package: str

    def slot(self) -> Hashable:
        # Never merged with a later put_app of the same package: that one would not remove
        # the old jobs and notifications this one does. Every DropApp is a slot of its own.
        return ("drop-app", self.package, id(self))


@dataclass(frozen=True)
class PutNotification:
    """``put_notification(record)``."""

    record: NotificationRecord

    def slot(self) -> Hashable:
        return ("notification", self.record.app, self.record.notification_id)


@dataclass(frozen=True)
class DropNotification:
    """``remove_notification(app, notification_id)``."""

    app: str
    notification_id: int

    def slot(self) -> Hashable:
        return ("notification", self.app, self.notification_id)


@dataclass(frozen=True)
class AddDeviceReadings:
    """``add_device_readings(readings, keep_since_utc_ms, keep_at_most)``."""

    readings: tuple[DeviceReading, ...]
    keep_since_utc_ms: int
    keep_at_most: int

    def slot(self) -> Hashable:
        # appended, never replaced: every batch of readings is a slot of its own
        return ("device-readings", id(self))


StoreWrite = (
    PutJob | DropJob | PutApp | DropApp | PutNotification | DropNotification | AddDeviceReadings
)


@runtime_checkable
class BatchWriting(Protocol):
    """A store that commits several writes atomically (all or none)."""

    def write_batch(self, writes: Sequence[StoreWrite]) -> None:
        """Carry out ``writes`` in order, in one transaction; on an error none of them is kept."""
        ...


def apply_write(store: JobStore, write: StoreWrite) -> None:
    """Carry out one write on any store."""
    match write:
        case PutJob(record=record):
            store.put_job(record)
        case DropJob(key=key):
            store.remove_job(key)
        case PutApp(record=record):
            store.put_app(record)
        case DropApp(package=package):
            store.remove_app(package)
        case PutNotification(record=record):
            store.put_notification(record)
        case DropNotification(app=app, notification_id=nid):
            store.remove_notification(app, nid)
        case AddDeviceReadings(readings=readings, keep_since_utc_ms=since, keep_at_most=most):
            store.add_device_readings(readings, since, most)


Conn = TypeVar("Conn", contravariant=True)


class WritesOnConnection(Protocol[Conn]):
    """A SQL store's steps of each write on one open connection (SQLite, PostgreSQL), so one
    dispatch, :func:`apply_write_on`, serves every such store's ``write_batch``."""

    def _put_job(self, conn: Conn, record: JobRecord) -> None: ...

    def _remove_job(self, conn: Conn, key: JobKey) -> bool: ...

    def _put_app(self, conn: Conn, record: AppRecord) -> None: ...

    def _remove_app(self, conn: Conn, package: str) -> bool: ...

    def _put_notification(self, conn: Conn, record: NotificationRecord) -> None: ...

    def _remove_notification(self, conn: Conn, app: str, notification_id: int) -> bool: ...

    def _add_readings(
        self,
        conn: Conn,
        readings: Sequence[DeviceReading],
        keep_since_utc_ms: int,
        keep_at_most: int,
    ) -> None: ...


def apply_write_on(store: WritesOnConnection[Conn], conn: Conn, write: StoreWrite) -> None:
    """Carry out one write with ``store``'s steps on ``conn`` (inside its transaction)."""
    match write:
        case PutJob(record=record):
            store._put_job(conn, record)
        case DropJob(key=key):
            store._remove_job(conn, key)
        case PutApp(record=record):
            store._put_app(conn, record)
        case DropApp(package=package):
            store._remove_app(conn, package)
        case PutNotification(record=record):
            store._put_notification(conn, record)
        case DropNotification(app=app, notification_id=nid):
            store._remove_notification(conn, app, nid)
        case AddDeviceReadings(readings=readings, keep_since_utc_ms=since, keep_at_most=most):
            store._add_readings(conn, readings, since, most)
