"""``MemoryJobStore``: everything in process memory (tests, ``--store memory://``).

Nothing survives the process; ``load_jobs()`` returns what a restart of *this* store object
would see, which for a new store is nothing.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence

from uidt.device.history import DeviceReading
from uidt.job.key import JobKey
from uidt.store.base import (
    StoreContextMixin,
    prune_readings,
    reloaded,
    sort_key,
)
from uidt.store.record import AppRecord, JobRecord, NotificationRecord


class MemoryJobStore(StoreContextMixin):
    """A :class:`~uidt.store.base.JobStore` kept in dictionaries, guarded by a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[JobKey, JobRecord] = {}
        self._apps: dict[str, AppRecord] = {}
        self._notifications: dict[tuple[str, int], NotificationRecord] = {}
        self._readings: list[DeviceReading] = []

    # -- jobs -----------------------------------------------------------------------------

    def put_job(self, record: JobRecord) -> None:
        with self._lock:
            self._jobs[record.key] = copy.deepcopy(record)

    def remove_job(self, key: JobKey) -> bool:
        with self._lock:
            return self._jobs.pop(key, None) is not None

    def get_job(self, key: JobKey) -> JobRecord | None:
        with self._lock:
            record = self._jobs.get(key)
            return None if record is None else copy.deepcopy(record)

    def jobs(self) -> list[JobRecord]:
        with self._lock:
            return sorted((copy.deepcopy(r) for r in self._jobs.values()), key=sort_key)

    def count_for_app(self, app: str) -> int:
        with self._lock:
            return sum(1 for k in self._jobs if k.app == app)

    def load_jobs(self) -> list[JobRecord]:
        with self._lock:
            found = [reloaded(r) for r in self._jobs.values() if r.persisted]
        return sorted(found, key=sort_key)

    # -- apps -----------------------------------------------------------------------------

    def put_app(self, record: AppRecord) -> None:
        with self._lock:
            self._apps[record.package] = copy.deepcopy(record)

    def get_app(self, package: str) -> AppRecord | None:
        with self._lock:
            record = self._apps.get(package)
            return None if record is None else copy.deepcopy(record)

    def apps(self) -> list[AppRecord]:
        with self._lock:
            return [copy.deepcopy(self._apps[p]) for p in sorted(self._apps)]

    def remove_app(self, package: str) -> bool:
        with self._lock:
            for key in [k for k in self._jobs if k.app == package]:
                del self._jobs[key]
            for nkey in [n for n in self._notifications if n[0] == package]:
                del self._notifications[nkey]
            return self._apps.pop(package, None) is not None

    # -- notifications --------------------------------------------------------------------

    def put_notification(self, record: NotificationRecord) -> None:
        with self._lock:
            key = (record.app, record.notification_id)
            self._notifications[key] = copy.deepcopy(record)

    def remove_notification(self, app: str, notification_id: int) -> bool:
        with self._lock:
            return self._notifications.pop((app, notification_id), None) is not None

    def load_notifications(self) -> list[NotificationRecord]:
        return self.notifications()

    def notifications(self) -> list[NotificationRecord]:
        with self._lock:
            return [copy.deepcopy(self._notifications[k]) for k in sorted(self._notifications)]

    # -- device readings ------------------------------------------------------------------

    def add_device_readings(
        self, readings: Sequence[DeviceReading], keep_since_utc_ms: int, keep_at_most: int
    ) -> None:
        with self._lock:
            self._readings = prune_readings(
                [*self._readings, *readings], keep_since_utc_ms, keep_at_most
            )

    def device_readings(self) -> list[DeviceReading]:
        with self._lock:
            return list(self._readings)  # frozen values: no copies needed

    def close(self) -> None:
        """Nothing to release; the data stays readable until the object is dropped."""
