"""``LeaseBook``: one host's leases in the shared PostgreSQL store, and the SQL that keeps them.

Used by :class:`~uidt.store.postgres.PostgresJobStore`, which calls it inside its transactions
(under its lock); the rules are in docs/fleet.md. The book remembers which jobs this host holds,
with the generation of each (every write of a held job names it: fencing), and which it lost
(their clean-up is then not this host's to do).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from uidt.errors import LeaseLostError
from uidt.job.key import JobKey
from uidt.store.base import Heartbeat

#: "Now" in milliseconds: the caller's clock when given, else the database server's.
NOW = "COALESCE(%(now)s::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)"
KEY = "app = %(app)s AND namespace = %(ns)s AND job_id = %(id)s"
CLAIMABLE = f"(lease_owner IS NULL OR lease_expires_utc_ms <= {NOW})"
#: The job's labels are all among this host's (a host requirement, docs/fleet.md) ...
RUNNABLE_HERE = "required_labels <@ %(labels)s::text[]"
#: ... which for a host without labels is "the job has none": the same rows, said so that the
#: claim walks the partial index of such jobs (migration 0003) and never steps over the jobs
#: waiting for a label, however many they are.
RUNNABLE_ANYWHERE = "required_labels = '{}'"
#: The channel every daemon on the store listens on (:mod:`uidt.store.pg_wake`): a job became
#: free to claim. The payload names the job (``app/[namespace:]id``); listeners may ignore it.
CHANNEL = "uidt_jobs"
#: The channel that says a job free to claim was claimed (payload: the job): the host that
#: stored it without running it (it lacks a label) forgets its copy at once.
TAKEN_CHANNEL = "uidt_jobs_taken"
#: The channel that says a stop request was written (:mod:`uidt.store.pg_fleet`); the payload is
#: the host holding the job when it was sent (``""``: nobody held it), so that host picks the
#: request up at once instead of at its next lease tick.
STOP_CHANNEL = "uidt_stops"

_Conn = psycopg.Connection[Any]
_TAKEN = "another host claimed it, or it was removed"
GENERATION = "nextval('uidt_lease_generation')"


def key_args(key: JobKey) -> dict[str, Any]:
    """The SQL parameters naming a job (the default namespace is ``''``)."""
    return {"app": key.app, "ns": key.namespace or "", "id": key.job_id}


def key_of(row: Sequence[Any]) -> JobKey:
    """The job named by a row starting with ``app, namespace, job_id``."""
    return JobKey(row[0], row[1] or None, int(row[2]))


#: A row's job as ``str(JobKey)`` writes it (``app/[namespace:]id``): notification payloads.
KEY_TEXT = (
    "app || '/' || CASE WHEN namespace = '' THEN '' ELSE namespace || ':' END || job_id::text"
)


def notify(conn: _Conn, key: JobKey) -> None:
    """Tell every listening host that ``key`` is free to claim (sent when the transaction
    commits; PostgreSQL folds equal notifications of one transaction into one)."""
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(key)))


class LeaseBook:
    """The leases one host holds and lost (see the module doc).

    ``offered`` are the jobs this host wrote but may not run (it lacks a label they require):
    stored free to claim, with the generation they had then. Its later writes of such a job are
    fenced on it, and a heartbeat reports the job lost once another host claimed it (or it was
    removed), so this host forgets its copy.
    """

    def __init__(
        self,
        host_id: str,
        lease_ms: int,
        clock: Callable[[], int] | None,
        labels: Sequence[str] = (),
    ) -> None:
        self.host_id, self.lease_ms = host_id, lease_ms
        self.labels = tuple(sorted(set(labels)))
        #: The claim's condition on a job's labels.
        self.runnable = RUNNABLE_HERE if self.labels else RUNNABLE_ANYWHERE
        self._clock = clock
        self.held: dict[JobKey, int] = {}  # job -> the generation this host holds
        self.offered: dict[JobKey, int] = {}  # job -> its generation when this host stored it
        self.lost: set[JobKey] = set()
        #: Jobs this host claimed from another host's offer (:data:`OFFERED_EXPIRY`): they were
        #: not running when offered, so their first run here is no takeover of a run.
        self.from_offers: set[JobKey] = set()
        #: Set without the store's lock by :meth:`request_fence` (the lock may be stuck in a call
        #: to an unanswering database); carried out by :meth:`settle` at the next store call.
        self.fence_requested = False

    def args(self, **more: Any) -> dict[str, Any]:
        now = None if self._clock is None else int(self._clock())
        return {
            "now": now,
            "me": self.host_id,
            "ttl": self.lease_ms,
            "labels": list(self.labels),
            **more,
        }

    def snapshot(self) -> tuple[dict[JobKey, int], dict[JobKey, int], set[JobKey]]:
        return dict(self.held), dict(self.offered), set(self.lost)

    def restore(self, saved: tuple[dict[JobKey, int], dict[JobKey, int], set[JobKey]]) -> None:
        self.held, self.offered, self.lost = saved

    def runs_here(self, labels: Sequence[str]) -> bool:
        """Whether this host has every one of ``labels``."""
        return set(labels) <= set(self.labels)

    def lose(self, key: JobKey, why: str) -> LeaseLostError:
        """Note ``key`` as lost; the error to raise. (Lost first: a reader without the lock never
        sees the job neither held, offered nor lost.)"""
        self.lost.add(key)
        self.held.pop(key, None)
        self.offered.pop(key, None)
        return LeaseLostError(f"job {key}: host {self.host_id} lost its lease ({why})", key)

    # -- writes of one job ----------------------------------------------------------------

    def write(
        self, conn: _Conn, key: JobKey, record: str, enqueued: int, labels: Sequence[str] = ()
    ) -> None:
        """Write a persisted job: fenced if held or offered, else claimed (inserted or taken
        over). A job whose ``labels`` this host lacks is stored free to claim instead (offered),
        and the hosts listening are told.

        Raises:
            LeaseLostError: another host holds the job, or claimed it from this host.
        """
        mine = self.runs_here(labels)
        args = self.args(**key_args(key), record=record, enqueued=enqueued, req=list(labels))
        # this host takes the lease, or leaves the job free to claim
        owner, expires = ("%(me)s", f"{NOW} + %(ttl)s") if mine else ("NULL", "0")
        held, offered = self.held.get(key), self.offered.get(key)
        if held is not None or offered is not None:
            fence = "lease_owner = %(me)s" if held is not None else "lease_owner IS NULL"
            row = conn.execute(
                f"UPDATE uidt_jobs SET record = %(record)s, enqueue_time_utc_ms = %(enqueued)s, "
                f"required_labels = %(req)s::text[], lease_owner = {owner}, "
                f"lease_expires_utc_ms = {expires}, lease_generation = "
                + ("lease_generation" if held is not None or not mine else GENERATION)
                + f" WHERE {KEY} AND {fence} AND lease_generation = %(gen)s "
                "RETURNING lease_generation",
                {**args, "gen": held if held is not None else offered},
            ).fetchone()
            if row is None:
                raise self.lose(key, _TAKEN)
            self._book(conn, key, int(row[0]), mine)
            return
        insert = (
            "INSERT INTO uidt_jobs (app, namespace, job_id, record, enqueue_time_utc_ms, "
            "required_labels, lease_owner, lease_expires_utc_ms, lease_generation) "
            f"VALUES (%(app)s, %(ns)s, %(id)s, %(record)s, %(enqueued)s, %(req)s::text[], "
            f"{owner}, {expires}, {GENERATION}) "
        )
        if key in self.lost:
            # This host's view of a job it lost is stale: it may create the job anew (the job
            # ended elsewhere), never take an existing row back, even one free to claim.
            row = conn.execute(
                insert + "ON CONFLICT DO NOTHING RETURNING lease_generation", args
            ).fetchone()
            if row is None:
                raise self.lose(key, "it lives on on another host, or is free to claim")
            self.lost.discard(key)
            self._book(conn, key, int(row[0]), mine)
            return
        row = conn.execute(
            insert + "ON CONFLICT (app, namespace, job_id) DO UPDATE SET record = EXCLUDED.record, "
            "enqueue_time_utc_ms = EXCLUDED.enqueue_time_utc_ms, "
            "required_labels = EXCLUDED.required_labels, lease_owner = EXCLUDED.lease_owner, "
            "lease_expires_utc_ms = EXCLUDED.lease_expires_utc_ms, "
            f"lease_generation = {GENERATION} "
            "WHERE uidt_jobs.lease_owner IS NULL OR uidt_jobs.lease_owner = %(me)s "
            f"OR uidt_jobs.lease_expires_utc_ms <= {NOW} "
            "RETURNING lease_generation",
            args,
        ).fetchone()
        if row is None:
            raise self.lose(key, "another host holds it")
        self.lost.discard(key)
        self._book(conn, key, int(row[0]), mine)

    def _book(self, conn: _Conn, key: JobKey, generation: int, mine: bool) -> None:
        """Note a written job as held (``mine``) or offered (then tell the listening hosts)."""
        if mine:
            self.offered.pop(key, None)
            self.held[key] = generation
            return
        self.held.pop(key, None)
        self.offered[key] = generation
        notify(conn, key)

    def delete(self, conn: _Conn, key: JobKey) -> bool:
        """Delete the job's row (fenced if held); ``False`` if there was none.

        Raises:
            LeaseLostError: another host holds the job (or claimed it from this host).
        """
        generation = self.held.get(key)
        offered = self.offered.get(key)
        if generation is not None or offered is not None:
            fence = "lease_owner = %(me)s" if generation is not None else "lease_owner IS NULL"
            done = conn.execute(
                f"DELETE FROM uidt_jobs WHERE {KEY} AND {fence} AND lease_generation = %(gen)s",
                self.args(**key_args(key), gen=offered if generation is None else generation),
            )
            if done.rowcount != 1:
                raise self.lose(key, _TAKEN)
            self.held.pop(key, None)
            self.offered.pop(key, None)
            return True
        done = conn.execute(
            f"DELETE FROM uidt_jobs WHERE {KEY} AND ({CLAIMABLE} OR lease_owner = %(me)s)",
            self.args(**key_args(key)),
        )
        if done.rowcount == 1:
            return True
        if conn.execute(f"SELECT 1 FROM uidt_jobs WHERE {KEY}", key_args(key)).fetchone():
            raise self.lose(key, "another host holds it")
        return False

    # -- many jobs ------------------------------------------------------------------------

    def renew(self, conn: _Conn) -> Heartbeat:
        """Renew exactly the (job, generation) pairs held; the ones not renewed are lost, and
        so are the offered jobs another host claimed (or that were removed)."""
        gone = self._offers_gone(conn)
        if not self.held:
            return Heartbeat(held=0, lost=gone)
        keys = list(self.held)
        rows = conn.execute(
            f"UPDATE uidt_jobs SET lease_expires_utc_ms = {NOW} + %(ttl)s "
            "WHERE lease_owner = %(me)s AND (app, namespace, job_id, lease_generation) IN "
            "(SELECT * FROM unnest(%(apps)s::text[], %(nss)s::text[], %(ids)s::bigint[], "
            "%(gens)s::bigint[])) RETURNING app, namespace, job_id",
            self.args(
                apps=[k.app for k in keys],
                nss=[k.namespace or "" for k in keys],
                ids=[k.job_id for k in keys],
                gens=[self.held[k] for k in keys],
            ),
        ).fetchall()
        renewed = {key_of(row) for row in rows}
        lost = tuple(sorted((k for k in keys if k not in renewed), key=str))
        for key in lost:
            self.lose(key, _TAKEN)
        return Heartbeat(held=len(renewed), lost=tuple(sorted(lost + gone, key=str)))

    def _offers_gone(self, conn: _Conn) -> tuple[JobKey, ...]:
        """The offered jobs no longer free under the generation this host stored them with."""
        if not self.offered:
            return ()
        keys = list(self.offered)
        rows = conn.execute(
            "SELECT app, namespace, job_id FROM uidt_jobs WHERE lease_owner IS NULL AND "
            "(app, namespace, job_id, lease_generation) IN "
            "(SELECT * FROM unnest(%(apps)s::text[], %(nss)s::text[], %(ids)s::bigint[], "
            "%(gens)s::bigint[]))",
            {
                "apps": [k.app for k in keys],
                "nss": [k.namespace or "" for k in keys],
                "ids": [k.job_id for k in keys],
                "gens": [self.offered[k] for k in keys],
            },
        ).fetchall()
        waiting = {key_of(row) for row in rows}
        gone = tuple(sorted((k for k in keys if k not in waiting), key=str))
        for key in gone:
            self.lose(key, _TAKEN)
        return gone

    def owner(self, conn: _Conn, key: JobKey) -> str | None:
        """The host holding a live lease on the job, or ``None``."""
        row = conn.execute(
            f"SELECT lease_owner FROM uidt_jobs WHERE {KEY} AND NOT {CLAIMABLE}",
            self.args(**key_args(key)),
        ).fetchone()
        return None if row is None else str(row[0])

    def release(self, conn: _Conn, keys: Sequence[JobKey]) -> None:
        """Free the leases of ``keys`` this host holds (fenced: a lease taken meanwhile stays)."""
        for key in keys:
            generation = self.held.pop(key, None)
            if generation is None:
                continue
            conn.execute(  # and tell the listening hosts, in the same round trip
                "UPDATE uidt_jobs SET lease_owner = NULL, lease_expires_utc_ms = 0 "
                f"WHERE {KEY} AND lease_owner = %(me)s AND lease_generation = %(gen)s "
                f"RETURNING pg_notify(%(channel)s, {KEY_TEXT})",
                self.args(**key_args(key), gen=generation, channel=CHANNEL),
            )

    def abandon(self) -> list[JobKey]:
        """Give every lease up in memory only; the keys."""
        keys = sorted(self.held, key=str)
        self.lost.update(keys)
        self.held.clear()
        return keys

    def request_fence(self) -> list[JobKey]:
        """Without the store's lock: ask for :meth:`abandon`; the keys held until now.

        Safe from any thread: copying a dict and setting a flag are single steps under the GIL.
        """
        keys = [] if self.fence_requested else sorted(dict(self.held), key=str)
        self.fence_requested = True
        return keys

    def held_now(self) -> dict[JobKey, int]:
        """Without the store's lock: the leases held (none once a fence is requested)."""
        return {} if self.fence_requested else dict(self.held)

    def settle(self) -> None:
        """Under the store's lock, before any call: carry out a requested fence."""
        if self.fence_requested:
            self.abandon()
            self.fence_requested = False

    def forget_app(self, package: str) -> None:
        """The app was removed (with its jobs, on every host)."""
        self.held = {k: g for k, g in self.held.items() if k.app != package}
        self.offered = {k: g for k, g in self.offered.items() if k.app != package}
