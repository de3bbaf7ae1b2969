"""``PostgresJobStore``: one job store that many hosts share, with leases and fencing.

Opened from ``--store postgresql://…`` (:func:`uidt.store.url.open_store`); needs the
``postgresql`` extra (``psycopg`` 3 and ``psycopg-pool``). It keeps the whole
:class:`~uidt.store.base.JobStore` contract and adds :class:`~uidt.store.base.LeasingJobStore`.

Durability: every write is one transaction, committed with ``synchronous_commit = on`` (set on
every connection, whatever the server's default), so a persisted job is on the server's disk
before ``put_job`` returns. Non-persisted jobs never reach the server: they live in a dictionary
in this process and vanish with it, as on Android.

Leases (docs/fleet.md): each persisted job row names the host holding it (``lease_owner``),
until when (``lease_expires_utc_ms``) and a generation drawn from one sequence at each claim.

* A host *claims* jobs whose lease is free or expired (``SELECT … FOR UPDATE SKIP LOCKED``, so
  hosts claiming at once never wait for each other nor take the same job); ``load_jobs`` claims
  every such job and also adopts the jobs left under this host's own id by its previous run.
  Writing a job this host does not hold (a newly scheduled one) claims it the same way.
* Every write of a held job names its generation: ``… WHERE lease_owner = me AND
  lease_generation = g``. A host whose lease expired and was claimed by another finds no row to
  write and gets :class:`~uidt.errors.LeaseLostError`; it never overwrites the new holder.
* :meth:`heartbeat` renews exactly the (job, generation) pairs this host holds and reports the
  ones it lost; :meth:`release_all` frees them (clean shutdown) so another host may claim them
  at once instead of after the expiry.
* An expired lease that nobody claimed yet is still this host's (same owner and generation):
  nobody else can have written the job, so the next write or heartbeat simply renews it.

Notifications are each host's own (:mod:`uidt.store.pg_notifications`), and every host can read
and stop the whole fleet's jobs through the store's ``fleet`` (a
:class:`~uidt.store.fleet.FleetStore`, :mod:`uidt.store.pg_fleet`; docs/fleet.md, "One view of
the fleet").

Time: lease expiry is read on the database server's clock, one clock for every host (no skew
between hosts). Tests pass ``clock`` (milliseconds) to move time by hand instead.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from uidt.errors import LeaseLostError, StoreError
from uidt.job.key import JobKey
from uidt.store import codec
from uidt.store.base import StoreContextMixin, sort_key
from uidt.store.batch import StoreWrite, apply_write_on
from uidt.store.pg_fleet import PostgresFleet, supersede
from uidt.store.pg_leases import KEY, LeaseBook, key_args
from uidt.store.pg_leasing import LeasingMixin
from uidt.store.pg_notifications import NotificationsMixin
from uidt.store.pg_offers import PostgresOffers
from uidt.store.pg_outage import (
    OutageBreaker,
    heartbeat_period_ms,
    link_options,
    pooled_connection,
)
from uidt.store.pg_readings import ReadingsMixin
from uidt.store.pg_schema import guard, prepare, redact
from uidt.store.record import AppRecord, JobRecord

__all__ = ["DEFAULT_LEASE_MS", "PostgresJobStore"]

#: How long a lease lasts without a heartbeat (the daemon renews it every third of this).
DEFAULT_LEASE_MS = 30_000
#: How long opening waits for the server, unless the URL says ``connect_timeout``.
CONNECT_TIMEOUT_S = 10


def normal_wait_s(lease_ms: int) -> float:
    """How long a call waits for a connection while the database answers: a heartbeat period,
    at most :data:`CONNECT_TIMEOUT_S` (a host waiting longer has fenced itself meanwhile)."""
    return min(float(CONNECT_TIMEOUT_S), heartbeat_period_ms(lease_ms) / 1000)


class PostgresJobStore(LeasingMixin, NotificationsMixin, ReadingsMixin, StoreContextMixin):
    """A shared :class:`~uidt.store.base.JobStore` in PostgreSQL, thread-safe (see module doc).

    Args:
        url: ``postgresql://user:password@host:port/database?…`` (libpq's URL form).
        host_id: this host's name in the leases (``uidt.store.hostid.default_host_id()``).
        lease_ms: how long a lease lasts without a renewal.
        clock: milliseconds since the epoch for lease times (tests); the server's clock if
            ``None``.
        host_labels: this host's labels (the ``host_labels`` setting): it claims only jobs
            whose required labels are all among them, and stores the jobs it may not run free
            to claim (docs/fleet.md).

    Raises:
        StoreVersionError: the database holds a newer uidt schema (left untouched).
        StoreError: the server cannot be reached, or the schema cannot be created.
    """

    def __init__(
        self,
        url: str,
        *,
        host_id: str,
        lease_ms: int = DEFAULT_LEASE_MS,
        clock: Callable[[], int] | None = None,
        host_labels: Sequence[str] = (),
    ) -> None:
        if not host_id:
            raise ValueError("a host id is needed")
        if lease_ms <= 0:
            raise ValueError(f"lease_ms must be positive, not {lease_ms}")
        self.url, self.host_id, self.lease_ms = url, host_id, lease_ms
        self._lock = threading.RLock()
        self._volatile: dict[JobKey, JobRecord] = {}
        self._leases = LeaseBook(host_id, lease_ms, clock, host_labels)
        self._breaker = OutageBreaker(normal_wait_s(lease_ms))
        self._closed = False
        #: Every host's jobs, stop requests and run lists (docs/fleet.md, "One view of the fleet").
        self.fleet = PostgresFleet(
            host_id,
            run=self._run,
            leases=self._leases,
            decode=self._decode,
            decode_notification=self._decode_notification,
            release=self.release,
        )
        #: Offering the jobs this host cannot start now to the other hosts (docs/fleet.md).
        self.offering = PostgresOffers(
            run=self._run,
            leases=self._leases,
            lock=self._lock,
            claim=self._claim,
            decode=self._decode,
        )
        timeout = {} if "connect_timeout" in url else {"connect_timeout": CONNECT_TIMEOUT_S}
        options = {"autocommit": True, **timeout, **link_options(url, lease_ms)}
        # the first connection says clearly why it fails
        with guard(url, "connecting"), psycopg.connect(url, **options) as conn:  # type: ignore[arg-type]
            prepare(conn, url)
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=4,
            kwargs=options,
            configure=_configure,
            check=ConnectionPool.check_connection,
            timeout=CONNECT_TIMEOUT_S,
            open=False,
            name="uidt-store",
        )
        try:
            with guard(url, "opening the connection pool"):
                self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except BaseException:
            self._pool.close()
            raise

    # -- plumbing -------------------------------------------------------------------------

    def _run(
        self, what: str, fn: Callable[[psycopg.Connection[Any]], Any], wait_s: float | None = None
    ) -> Any:
        """Run ``fn`` in one transaction on a pooled connection, under the lock.

        If the transaction fails, the memory of leases and non-persisted jobs is put back as
        it was, so nothing of a rolled-back transaction is kept. The wait for a connection is
        the :class:`~uidt.store.pg_outage.OutageBreaker`'s (short while the database is away),
        and at most ``wait_s``.
        """
        with self._lock:
            if self._closed:
                raise StoreError(f"job store {redact(self.url)} is closed")
            self._leases.settle()
            leases, volatile = self._leases.snapshot(), dict(self._volatile)
            try:
                with (
                    self._outage_guard(what),
                    pooled_connection(self._pool, self._breaker.wait_s(wait_s)) as conn,
                    conn.transaction(),
                ):
                    result = fn(conn)
                self._breaker.succeeded()
                return result
            except BaseException as exc:
                self._leases.restore(leases)
                self._volatile = volatile
                if isinstance(exc, LeaseLostError) and isinstance(exc.key, JobKey):
                    self._leases.lose(exc.key, "")  # a lost lease stays lost
                raise

    @contextlib.contextmanager
    def _outage_guard(self, what: str) -> Iterator[None]:
        """:func:`guard`, which also opens the breaker when the database cannot be reached and
        then says so plainly."""
        try:
            with guard(self.url, what):
                yield
        except StoreError as exc:
            if not isinstance(exc.__cause__, psycopg.OperationalError):
                raise
            self._breaker.failed()
            down = self._breaker.down_for_s() or 0.0
            raise StoreError(
                f"job store {redact(self.url)}: {what} failed: the database cannot be reached "
                f"(for {down:.1f} s; {exc.__cause__}); not written"
            ) from exc.__cause__

    def _decode(self, text: str) -> JobRecord:
        with codec.unreadable(redact(self.url), "job"):
            return codec.job_record_from_json(text)

    # -- jobs -----------------------------------------------------------------------------

    def put_job(self, record: JobRecord) -> None:
        self._run("put_job", lambda conn: self._put_job(conn, record))

    def _put_job(self, conn: psycopg.Connection[Any], record: JobRecord) -> None:
        key = record.key
        if not record.persisted:
            if key not in self._leases.lost and key not in self._volatile:
                self._leases.delete(conn, key)  # a persisted job becomes a volatile one
            self._volatile[key] = copy.deepcopy(record)
            return
        # not the update of a job claimed or offered here: a new scheduling
        scheduled_here = key not in self._leases.held and key not in self._leases.offered
        self._leases.write(
            conn,
            key,
            codec.job_record_to_json(record),
            record.enqueue_time_utc_ms,
            record.job.required_host_labels,
        )
        if scheduled_here:
            supersede(conn, self._leases, key)
        self._volatile.pop(key, None)

    def remove_job(self, key: JobKey) -> bool:
        return bool(self._run("remove_job", lambda conn: self._remove_job(conn, key)))

    def _remove_job(self, conn: psycopg.Connection[Any], key: JobKey) -> bool:
        if self._volatile.pop(key, None) is not None:
            return True
        if key in self._leases.lost:  # another host holds it now: not this host's to remove
            return False
        return self._leases.delete(conn, key)

    def get_job(self, key: JobKey) -> JobRecord | None:
        with self._lock:
            volatile = self._volatile.get(key)
            if volatile is not None:
                return copy.deepcopy(volatile)
        row = self._run(
            "get_job",
            lambda conn: conn.execute(
                f"SELECT record FROM uidt_jobs WHERE {KEY}", key_args(key)
            ).fetchone(),
        )
        return None if row is None else self._decode(row[0])

    def jobs(self) -> list[JobRecord]:
        """Every job in the store (whichever host holds it) and this host's non-persisted ones."""
        rows = self._run("jobs", lambda c: c.execute("SELECT record FROM uidt_jobs").fetchall())
        found = [self._decode(row[0]) for row in rows]
        with self._lock:
            found += [copy.deepcopy(r) for r in self._volatile.values()]
        return sorted(found, key=sort_key)

    def count_for_app(self, app: str) -> int:
        row = self._run(
            "count_for_app",
            lambda c: c.execute("SELECT count(*) FROM uidt_jobs WHERE app = %s", (app,)).fetchone(),
        )
        with self._lock:
            return int(row[0]) + sum(1 for k in self._volatile if k.app == app)

    def load_jobs(self) -> list[JobRecord]:
        """Claim every free or expired job and adopt this host's own: what this host runs."""
        return self._claim(None, adopt_own=True)

    # -- apps -----------------------------------------------------------------------------

    def put_app(self, record: AppRecord) -> None:
        self._run("put_app", lambda conn: self._put_app(conn, record))

    def _put_app(self, conn: psycopg.Connection[Any], record: AppRecord) -> None:
        conn.execute(
            "INSERT INTO uidt_apps (package, record) VALUES (%s, %s) "
            "ON CONFLICT (package) DO UPDATE SET record = EXCLUDED.record",
            (record.package, codec.app_record_to_json(record)),
        )

    def _decode_app(self, text: str) -> AppRecord:
        with codec.unreadable(redact(self.url), "app"):
            return codec.app_record_from_json(text)

    def get_app(self, package: str) -> AppRecord | None:
        row = self._run(
            "get_app",
            lambda c: c.execute(
                "SELECT record FROM uidt_apps WHERE package = %s", (package,)
            ).fetchone(),
        )
        return None if row is None else self._decode_app(row[0])

    def apps(self) -> list[AppRecord]:
        rows = self._run(
            "apps",
            lambda c: c.execute("SELECT record FROM uidt_apps ORDER BY package").fetchall(),
        )
        return [self._decode_app(row[0]) for row in rows]

    def remove_app(self, package: str) -> bool:
        """Remove an app with its jobs on every host (their hosts find their leases lost)."""
        return bool(self._run("remove_app", lambda conn: self._remove_app(conn, package)))

    def _remove_app(self, conn: psycopg.Connection[Any], package: str) -> bool:
        conn.execute("DELETE FROM uidt_jobs WHERE app = %s", (package,))
        conn.execute("DELETE FROM uidt_notifications WHERE app = %s", (package,))
        removed = conn.execute("DELETE FROM uidt_apps WHERE package = %s", (package,)).rowcount
        self._leases.forget_app(package)
        self._volatile = {k: r for k, r in self._volatile.items() if k.app != package}
        return removed > 0

    def write_batch(self, writes: Sequence[StoreWrite]) -> None:
        """Carry out ``writes`` in order in one transaction; on an error none of them is kept."""

        def write_all(conn: psycopg.Connection[Any]) -> None:
            for write in writes:
                apply_write_on(self, conn, write)

        self._run("write_batch", write_all)

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the pool (idempotent); non-persisted jobs are dropped, leases are kept
        (call :meth:`release_all` first to hand them over at once)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._volatile.clear()
        self._pool.close()


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Every pooled connection commits durably, whatever the server's default."""
    conn.execute("SET synchronous_commit TO on")
