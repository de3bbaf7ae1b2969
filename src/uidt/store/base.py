"""The ``JobStore`` contract every store implements (memory, SQLite, PostgreSQL).

The daemon calls a store from one thread, its :class:`~uidt.store.writer.StoreWriter`'s (never on
its event loop). The rules every store keeps:

* ``put_job`` adds or replaces the job with the same :class:`JobKey`. A *persisted* job
  (``record.job.is_persisted()``) is durable before ``put_job`` returns (committed with fsync);
  a non-persisted job is kept in memory only and is gone after a restart.
* ``load_jobs()`` returns the persisted jobs as a restarted daemon sees them (docs/android-semantics.md#persistence-and-namespaces):
  failure counters (``num_failures``, ``num_system_stops``) reset to 0; internal flags, cumulative
  runtime, history and the rest kept. Keys are unique, so duplicates cannot occur.
* ``load_notifications()`` returns every saved notification (on a store several hosts share,
  every one this host saved); the core decides which come back (docs/daemon.md,
  "Notifications after a restart").
* ``remove_app`` removes the app, its jobs and its notifications.
* Records handed in and out are copies: changing one afterwards does not change the store.
* Device readings (:class:`~uidt.device.history.DeviceReading`, changes only) are a bounded log:
  ``add_device_readings`` appends and prunes in one durable step, ``device_readings`` reads them
  back oldest first. Pruning (:func:`prune_readings`) drops readings older than
  ``keep_since_utc_ms`` *except the newest of those* (it says what the device was at the start of
  the kept window), then the oldest beyond ``keep_at_most``. A PostgreSQL store needs one table
  ``(id serial, at_utc_ms bigint, reading text)`` and the same two deletes.

The protocol holds what the daemon calls (its runtime, :class:`~uidt.store.writer.StoreWriter`
and :mod:`uidt.store.batch`), nothing more. The stores also answer a few reads that only tests
and the contract suite use to look inside (``get_job``, ``jobs``, ``count_for_app``,
``notifications``: :class:`uidt.testing.store_contract.InspectableStore`); a wider protocol
(queries by app or namespace, runtime-field updates, metadata) can come back with a store shared
by several hosts, when a caller needs it.

Leases (PostgreSQL, many hosts sharing one store; docs/fleet.md): leases live in a separate
protocol, :class:`LeasingJobStore`, which a multi-host store implements *in addition to*
:class:`JobStore`. Callers that only know ``JobStore`` keep working unchanged: the PostgreSQL
store takes (or renews) the lease of every job it writes for its own host inside ``put_job``,
``load_jobs`` returns only the jobs this host holds or can claim (``SELECT … FOR UPDATE SKIP
LOCKED`` on free or expired leases), a write of a job whose lease another host took raises
:class:`~uidt.errors.LeaseLostError`, and the daemon, when ``isinstance(store,
LeasingJobStore)``, calls ``heartbeat()`` on a timer and ``release_all()`` at shutdown.
Single-host stores (memory, SQLite) simply do not implement it.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from uidt.device.history import DeviceReading
from uidt.job.key import JobKey
from uidt.store.record import AppRecord, JobRecord, NotificationRecord


@runtime_checkable
class JobStore(Protocol):
    """Where jobs, installed apps and notifications are kept: what the daemon calls."""

    # -- jobs -----------------------------------------------------------------------------

    def put_job(self, record: JobRecord) -> None:
        """Add or replace the job with ``record.key``; durable on return if persisted."""
        ...

    def remove_job(self, key: JobKey) -> bool:
        """Remove a job; ``True`` if there was one."""
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

    def load_notifications(self) -> list[NotificationRecord]:
        """The saved notifications as a restarted daemon finds them, ordered by (app, id)."""
        ...

    # -- device readings ------------------------------------------------------------------

    def add_device_readings(
        self, readings: Sequence[DeviceReading], keep_since_utc_ms: int, keep_at_most: int
    ) -> None:
        """Append ``readings`` (oldest first), then prune (:func:`prune_readings`); durable."""
        ...

    def device_readings(self) -> list[DeviceReading]:
        """Every kept reading, oldest first (at most the last ``keep_at_most`` written)."""
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


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What one :meth:`LeasingJobStore.heartbeat` found."""

    #: How many leases it renewed (the jobs this host still holds).
    held: int
    #: The jobs whose lease this host lost since the last look (another host claimed them, or
    #: they were removed): they must stop on this host at once.
    lost: tuple[JobKey, ...]


@runtime_checkable
class LeasingJobStore(Protocol):
    """Optional extension for stores shared by several hosts (PostgreSQL); see the module doc."""

    host_id: str
    lease_ms: int

    def claim(self, limit: int | None = None) -> list[JobRecord]:
        """Take the lease of up to ``limit`` jobs that are free or expired; their records."""
        ...

    def heartbeat(self) -> Heartbeat:
        """Renew this host's leases; say how many it holds and which it lost."""
        ...

    def lease_owner(self, key: JobKey) -> str | None:
        """The host holding the job's lease, or ``None`` if free or expired."""
        ...

    def held(self) -> dict[JobKey, int]:
        """The jobs this host holds, with the lease generation of each."""
        ...

    def abandon(self) -> list[JobKey]:
        """Give up every lease in memory, without the database (unreachable); the keys."""
        ...

    def release(self, keys: Sequence[JobKey]) -> None:
        """Give up the leases of these jobs (the ones this host holds)."""
        ...

    def release_all(self) -> None:
        """Give up every lease this host holds (clean shutdown)."""
        ...


class OfferingStore(Protocol):
    """The offers of a shared store whose hosts offer the jobs they cannot start now to the
    others (docs/fleet.md, "Offering a job to the fleet"): the store's ``offering``."""

    def held(self) -> dict[JobKey, int]:
        """The jobs this host holds, with the lease generation of each."""
        ...

    @property
    def offered(self) -> list[JobKey]:
        """The jobs this host stored or gave back free to claim and keeps a copy of (never
        waits)."""
        ...

    def peek(self, limit: int, exclude: Collection[JobKey] = ()) -> list[tuple[JobRecord, int]]:
        """The first ``limit`` jobs a claim would take, not claimed, with generations."""
        ...

    def claim(
        self,
        limit: int | None = None,
        exclude: Collection[JobKey] = (),
        only: Collection[tuple[JobKey, int]] | None = None,
    ) -> list[JobRecord]:
        """As :meth:`LeasingJobStore.claim`, never the jobs in ``exclude`` nor the offered
        ones; with ``only``, just those (job, generation) pairs if still free."""
        ...

    def offer(self, keys: Sequence[JobKey]) -> list[JobKey]:
        """Give the leases of ``keys`` (held here) back, keeping a copy; the keys offered."""
        ...

    def reclaim(self, key: JobKey) -> int:
        """Take an offered job back to start it; its generation (``LeaseLostError``: taken)."""
        ...

    def from_offer(self, key: JobKey) -> bool:
        """Whether this host's latest claim of the job took it from another host's offer."""
        ...

    def has_lost(self, key: JobKey) -> bool:
        """Whether this host lost the job's lease and did not get it back (never waits)."""
        ...

    def withdraw(self, key: JobKey) -> None:
        """Forget this host's copy of an offered job (it could not take it back): it stays
        free to claim for every host, this one included."""
        ...


@runtime_checkable
class HasOffering(Protocol):
    """A shared store with :class:`OfferingStore` offers (PostgreSQL's)."""

    offering: OfferingStore


def reloaded(record: JobRecord) -> JobRecord:
    """A copy of ``record`` as a restarted daemon loads it: failure counters reset to 0."""
    fresh = copy.deepcopy(record)
    fresh.num_failures = 0
    fresh.num_system_stops = 0
    return fresh


def prune_readings(
    readings: Sequence[DeviceReading], keep_since_utc_ms: int, keep_at_most: int
) -> list[DeviceReading]:
    """The readings a store keeps of ``readings`` (in the order given: oldest first).

    Drops those older than ``keep_since_utc_ms`` but the newest of them, which says what the
    device was when the kept window starts; then keeps at most the last ``keep_at_most``.
    """
    older = [i for i, r in enumerate(readings) if r.at_utc_ms < keep_since_utc_ms]
    first = older[-1] if older else 0
    kept = list(readings[first:])
    return kept[-keep_at_most:] if keep_at_most > 0 else []


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
