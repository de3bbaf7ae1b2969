"""Offering a held job to the fleet, and taking it back to start it (docs/fleet.md).

A host that holds a job it cannot start now (no free slot, a constraint unmet on its own
readings: :mod:`uidt.server.fleetoffer` decides) *offers* it: the row is made free to claim, with
a new generation, and the listening hosts are told (``NOTIFY uidt_jobs``), exactly as a job this
host lacks a label for is stored (:class:`~uidt.store.pg_leases.LeaseBook` ``offered``). The
offering host keeps its copy, waiting; its own claims skip the job; another host's claim takes it
(and the offering host forgets its copy at its next heartbeat, or at once on
``uidt_jobs_taken``). When the offering host can start the job after all, it *reclaims* it first:
fenced on the generation it offered it with, so exactly one host gets it, whoever comes first.

An offered row's lease reads :data:`~uidt.store.fleet.OFFERED_EXPIRY`, so a claiming host
knows the job was not running when it was offered: its first run there is no takeover of a run
(the transfer's "taken over from another host" is not said).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

import psycopg

from uidt.job.key import JobKey
from uidt.store import pg_claims
from uidt.store.fleet import OFFERED_EXPIRY
from uidt.store.pg_leases import (
    CHANNEL,
    GENERATION,
    KEY,
    KEY_TEXT,
    NOW,
    LeaseBook,
    key_args,
    key_of,
)
from uidt.store.record import JobRecord

_Conn = psycopg.Connection[Any]


class _Claim(Protocol):
    def __call__(
        self,
        limit: int | None,
        *,
        adopt_own: bool,
        exclude: Collection[JobKey] = (),
        only: Collection[tuple[JobKey, int]] | None = None,
    ) -> list[JobRecord]: ...


def offer(book: LeaseBook, conn: _Conn, keys: Sequence[JobKey]) -> list[JobKey]:
    """Give the leases of ``keys`` this host holds back as offers (fenced, a new generation,
    notified), in one statement however many; the keys offered, in the order given. A job this
    host no longer holds is left alone: its next heartbeat reports it lost."""
    mine = [key for key in dict.fromkeys(keys) if key in book.held]
    if not mine:
        return []
    rows = conn.execute(
        "UPDATE uidt_jobs SET lease_owner = NULL, lease_expires_utc_ms = %(offered)s, "
        f"lease_generation = {GENERATION} "
        "WHERE lease_owner = %(me)s AND (app, namespace, job_id, lease_generation) IN "
        "(SELECT * FROM unnest(%(apps)s::text[], %(nss)s::text[], %(ids)s::bigint[], "
        "%(gens)s::bigint[])) "
        f"RETURNING app, namespace, job_id, lease_generation, pg_notify(%(channel)s, {KEY_TEXT})",
        book.args(
            apps=[k.app for k in mine],
            nss=[k.namespace or "" for k in mine],
            ids=[k.job_id for k in mine],
            gens=[book.held[k] for k in mine],
            channel=CHANNEL,
            offered=OFFERED_EXPIRY,
        ),
    ).fetchall()
    generations = {key_of(row): int(row[3]) for row in rows}
    done = [key for key in mine if key in generations]
    for key in done:
        del book.held[key]
        book.offered[key] = generations[key]
    return done


def reclaim(book: LeaseBook, conn: _Conn, key: JobKey) -> int:
    """Take back the lease of a job this host offered (to start it here); its new generation.
    A job held already keeps its lease.

    Raises:
        LeaseLostError: another host claimed the job meanwhile (or it was removed); this host
            forgets it, and must not start it.
    """
    held = book.held.get(key)
    if held is not None:
        return held
    offered = book.offered.get(key)
    if offered is None:
        raise book.lose(key, "this host neither holds nor offered it")
    row = conn.execute(
        f"UPDATE uidt_jobs SET lease_owner = %(me)s, lease_expires_utc_ms = {NOW} + %(ttl)s, "
        f"lease_generation = {GENERATION} "
        f"WHERE {KEY} AND lease_owner IS NULL AND lease_generation = %(gen)s "
        "RETURNING lease_generation",
        book.args(**key_args(key), gen=offered),
    ).fetchone()
    if row is None:
        raise book.lose(key, "another host claimed it while it was offered, or it was removed")
    del book.offered[key]
    book.held[key] = int(row[0])
    return int(row[0])


class PostgresOffers:
    """:class:`~uidt.store.base.OfferingStore` of a :class:`~uidt.store.postgres.PostgresJobStore`
    (its ``offering``): the store hands in its transaction runner, lease book, lock, claim and
    record decoder."""

    def __init__(
        self,
        *,
        run: Callable[[str, Callable[[_Conn], Any]], Any],
        leases: LeaseBook,
        lock: threading.RLock,
        claim: _Claim,
        decode: Callable[[str], JobRecord],
    ) -> None:
        self._run, self._leases, self._lock = run, leases, lock
        self._claim, self._decode = claim, decode

    def held(self) -> dict[JobKey, int]:
        """The jobs this host holds, with the lease generation of each (never waits)."""
        return self._leases.held_now()

    @property
    def offered(self) -> list[JobKey]:
        """The jobs this host offered (or stored for hosts with labels it lacks) and that no
        other host has claimed yet, as far as this host knows (never waits)."""
        return list(self._leases.offered)

    def peek(self, limit: int, exclude: Collection[JobKey] = ()) -> list[tuple[JobRecord, int]]:
        """The first ``limit`` jobs a claim would take, not claimed: records (as loaded) and
        lease generations, so a host can claim only those it can start now."""
        rows = self._run("peek", lambda c: pg_claims.peek(self._leases, c, limit, exclude))
        found: list[tuple[JobRecord, int]] = []
        for _key, generation, text in rows:
            record = self._decode(text)
            record.num_failures = record.num_system_stops = 0
            found.append((record, generation))
        return found

    def claim(
        self,
        limit: int | None = None,
        exclude: Collection[JobKey] = (),
        only: Collection[tuple[JobKey, int]] | None = None,
    ) -> list[JobRecord]:
        """Claim as the store's ``claim``, never the jobs in ``exclude``; with ``only``, just
        those (job, generation) pairs, if still free (:meth:`peek` showed them)."""
        return self._claim(limit, adopt_own=False, exclude=exclude, only=only)

    def offer(self, keys: Sequence[JobKey]) -> list[JobKey]:
        """Offer held jobs this host cannot start now to the other hosts (:func:`offer`); the
        keys offered."""
        done: list[JobKey] = self._run("offer", lambda c: offer(self._leases, c, keys))
        return done

    def reclaim(self, key: JobKey) -> int:
        """Take back a job this host offered, to start it here (:func:`reclaim`); its new
        lease generation.

        Raises:
            LeaseLostError: another host claimed it meanwhile (this host must not start it).
        """
        generation: int = self._run("reclaim", lambda c: reclaim(self._leases, c, key))
        return generation

    def from_offer(self, key: JobKey) -> bool:
        """Whether this host's latest claim of ``key`` took it from another host's offer (it
        was not running then: its first run here is no takeover). Never waits."""
        return key in self._leases.from_offers

    def has_lost(self, key: JobKey) -> bool:
        """Whether this host lost ``key``'s lease (another host claimed it, or it was removed)
        and did not get it back. Never waits."""
        return key in self._leases.lost

    def withdraw(self, key: JobKey) -> None:
        """Forget this host's copy of an offered job: free to claim for every host, this one
        included (in memory only; the row is already free)."""
        with self._lock:
            self._leases.offered.pop(key, None)
