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

from collections.abc import Sequence
from typing import Any

import psycopg

from uidt.job.key import JobKey
from uidt.store.fleet import OFFERED_EXPIRY
from uidt.store.pg_leases import (
    CHANNEL,
    GENERATION,
    KEY,
    KEY_TEXT,
    NOW,
    LeaseBook,
    key_args,
)

_Conn = psycopg.Connection[Any]


def offer(book: LeaseBook, conn: _Conn, keys: Sequence[JobKey]) -> list[JobKey]:
    """Give the leases of ``keys`` this host holds back as offers (fenced, a new generation,
    notified); the keys offered. A job this host no longer holds is left alone: its next
    heartbeat reports it lost."""
    done: list[JobKey] = []
    for key in keys:
        generation = book.held.get(key)
        if generation is None:
            continue
        row = conn.execute(
            "UPDATE uidt_jobs SET lease_owner = NULL, lease_expires_utc_ms = %(offered)s, "
            f"lease_generation = {GENERATION} "
            f"WHERE {KEY} AND lease_owner = %(me)s AND lease_generation = %(gen)s "
            f"RETURNING lease_generation, pg_notify(%(channel)s, {KEY_TEXT})",
            book.args(**key_args(key), gen=generation, channel=CHANNEL, offered=OFFERED_EXPIRY),
        ).fetchone()
        if row is None:
            continue
        del book.held[key]
        book.offered[key] = int(row[0])
        done.append(key)
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
