"""The ``JobStore`` contract every store implements (memory, SQLite; PostgreSQL later).

The daemon calls a store from one thread, its :class:`~uidt.store.writer.StoreWriter`'s (never on
its event loop). The rules every store keeps:

* ``put_job`` adds or replaces the job with the same :class:`JobKey`. A *persisted* job
  (``record.job.is_persisted()``) is durable before ``put_job`` returns (committed with fsync);
  a non-persisted job is kept in memory only and is gone after a restart.
* ``load_jobs()`` returns the persisted jobs as a restarted daemon sees them (Android reference §9):
  failure counters (``num_failures``, ``num_system_stops``) reset to 0; internal flags, cumulative
  runtime, history and the rest kept. Keys are unique, so duplicates cannot occur.
* ``update_job(key, **fields)`` changes only runtime fields (:data:`RUNTIME_FIELDS`); it returns
  ``False`` when no job has that key, and raises :class:`~uidt.errors.InvalidJobError` for a field
  that is not a runtime field. Persisted jobs' updates are durable before it returns.
* ``remove_app`` removes the app, its jobs and its notifications.
* Records handed in and out are copies: changing one afterwards does not change the store.

Leases (the plan for PostgreSQL, many hosts sharing one store): leases live in a separate protocol,
:class:`LeasingJobStore`, which a multi-host store implements *in addition to* :class:`JobStore`.
Callers that only know ``JobStore`` keep working unchanged: the PostgreSQL store takes (or renews)
the lease of every job it writes for its own host inside ``put_job``, ``load_jobs`` returns only
the jobs this host holds or can claim (``SELECT … FOR UPDATE SKIP LOCKED`` on expired leases), and
the daemon, when ``isinstance(store, LeasingJobStore)``, calls ``heartbeat()`` on a timer and
``release_all()`` at shutdown. Single-host stores (memory, SQLite) simply do not implement it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from uidt.errors import InvalidJobError
from uidt.job.key import JobKey
from uidt.store.record import AppRecord, JobRecord, NotificationRecord

#: The fields ``update_job`` may change; everything else needs ``put_job``.
RUNTIME_FIELDS: frozenset[str] = frozenset(
    {
        "num_failures",
        "num_system_stops",
        "earliest_run_time_utc_ms",
        "cumulative_runtime_ms",
        "internal_flags",
        "last_stop_reason",
        "last_internal_stop_reason",
        "last_successful_run_utc_ms",
        "last_failed_run_utc_ms",
        "history",
        "extra",
    }
)


@runtime_checkable
class JobStore(Protocol):
    """Where jobs, installed apps, notifications and daemon metadata are kept."""

    # -- jobs -----------------------------------------------------------------------------

    def put_job(self, record: JobRecord) -> None:
        """Add or replace the job with ``record.key``; durable on return if persisted."""
        ...

    def remove_job(self, key: JobKey) -> bool:
        """Remove a job; ``True`` if there was one."""
        ...

    def get_job(self, key: JobKey) -> JobRecord | None:
        """The job with that key, or ``None``."""
        ...

    def jobs(self) -> list[JobRecord]:
        """Every job (persisted or not), ordered by key."""
        ...

    def jobs_for_app(self, app: str) -> list[JobRecord]:
        """Every job of one app, in all namespaces, ordered by key."""
        ...

    def jobs_in_namespace(self, app: str, namespace: str | None) -> list[JobRecord]:
        """The jobs of one app in one namespace (``None`` = default), ordered by key."""
        ...

    def count_for_app(self, app: str) -> int:
        """How many jobs the app has, in all namespaces."""
        ...

    def update_job(self, key: JobKey, /, **fields: Any) -> bool:
        """Change runtime fields of a job; ``False`` if there is no such job.

        Raises:
            InvalidJobError: a field is not in :data:`RUNTIME_FIELDS`.
        """
        ...

    def load_jobs(self) -> list[JobRecord]:
        """The persisted jobs as reloaded after a restart (failure counters reset to 0)."""
        ...

    # -- apps -----------------------------------------------------------------------------

    def put_app(self, record: AppRecord) -> None:
        """Add or replace an installed app (durable on return)."""
        ...

    def get_app(self, package: str) -> AppRecord | None:
        """The installed app, or ``None``."""
        ...

    def apps(self) -> list[AppRecord]:
        """Every installed app, ordered by package."""
        ...

    def remove_app(self, package: str) -> bool:
        """Remove an app with its jobs and notifications; ``True`` if it was installed."""
        ...

    # -- notifications --------------------------------------------------------------------

    def put_notification(self, record: NotificationRecord) -> None:
        """Add or replace the notification ``(record.app, record.notification_id)``."""
        ...

    def remove_notification(self, app: str, notification_id: int) -> bool:
        """Remove a notification; ``True`` if there was one."""
        ...

    def notifications(self) -> list[NotificationRecord]:
        """Every notification, ordered by (app, id)."""
        ...

    # -- daemon metadata ------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A daemon metadata value, or ``None``."""
        ...

    def set_meta(self, key: str, value: str | None) -> None:
        """Set (or, with ``None``, delete) a daemon metadata value."""
        ...

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Release the store; idempotent."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class LeasingJobStore(Protocol):
    """Optional extension for stores shared by several hosts (PostgreSQL); see the module doc."""

    def heartbeat(self) -> int:
        """Renew this host's leases; returns how many jobs it holds."""
        ...

    def lease_owner(self, key: JobKey) -> str | None:
        """The host holding the job's lease, or ``None`` if free or expired."""
        ...

    def release_all(self) -> None:
        """Give up every lease this host holds (clean shutdown)."""
        ...


def check_runtime_fields(fields: Iterable[str]) -> None:
    """Raise :class:`InvalidJobError` for any name that ``update_job`` may not change."""
    bad = sorted(set(fields) - RUNTIME_FIELDS)
    if bad:
        raise InvalidJobError(f"update_job cannot change {', '.join(bad)}; use put_job")


def apply_runtime_fields(record: JobRecord, fields: dict[str, Any]) -> None:
    """Set already-checked runtime fields on ``record`` (values are copied)."""
    for name, value in fields.items():
        setattr(record, name, copy.deepcopy(value))


def reloaded(record: JobRecord) -> JobRecord:
    """A copy of ``record`` as a restarted daemon loads it: failure counters reset to 0."""
    fresh = copy.deepcopy(record)
    fresh.num_failures = 0
    fresh.num_system_stops = 0
    return fresh


def sort_key(record: JobRecord) -> tuple[str, str, int]:
    """Order jobs by app, namespace (default first), id."""
    key = record.key
    return (key.app, "" if key.namespace is None else "\x01" + key.namespace, key.job_id)


class StoreContextMixin:
    """``with store:`` closes the store on exit."""

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
