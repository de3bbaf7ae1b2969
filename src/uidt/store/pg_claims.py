r"""Claiming jobs of the shared PostgreSQL store, and looking before claiming (docs/fleet.md).

Functions over one host's :class:`~uidt.store.pg_leases.LeaseBook`, called by
:class:`~uidt.store.postgres.PostgresJobStore` inside its transactions (under its lock). A claim
takes free or expired jobs in enqueue order, skipping the rows other hosts are claiming at the
same moment (``FOR UPDATE SKIP LOCKED``), with a new generation each, and tells the writers of
the jobs that were free that they were taken. A host that claims only what it can start now
first :func:`peek`\ s at the jobs a claim would take, lets its core choose, and claims exactly
those (job, generation) pairs (``only``), if nobody took them meanwhile.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import psycopg

from uidt.job.key import JobKey
from uidt.store.fleet import OFFERED_EXPIRY
from uidt.store.pg_leases import (
    CLAIMABLE,
    GENERATION,
    KEY_TEXT,
    NOW,
    TAKEN_CHANNEL,
    LeaseBook,
    key_of,
    notify,
)

_Conn = psycopg.Connection[Any]


def claim(
    book: LeaseBook,
    conn: _Conn,
    limit: int | None,
    *,
    adopt_own: bool,
    exclude: Collection[JobKey] = (),
    only: Collection[tuple[JobKey, int]] | None = None,
) -> list[tuple[JobKey, str]]:
    """Claim free or expired jobs (and this host's own, if ``adopt_own``): keys and records.

    Never the jobs this host offered (it takes those back only to start them,
    :func:`uidt.store.pg_offers.reclaim`) nor the ones in ``exclude``; with ``only``, just
    those (job, generation) pairs still claimable (what :func:`peek` showed).
    """
    own = " OR lease_owner = %(me)s" if adopt_own else ""
    bound = "" if limit is None else " LIMIT %(limit)s"
    skip, skip_args = _skipping(book, exclude)
    if only is not None:
        pairs = sorted(only, key=lambda pair: str(pair[0]))
        skip += (
            " AND (app, namespace, job_id, lease_generation) IN (SELECT * FROM "
            "unnest(%(oapps)s::text[], %(onss)s::text[], %(oids)s::bigint[], "
            "%(ogens)s::bigint[]))"
        )
        skip_args.update(
            oapps=[k.app for k, _ in pairs],
            onss=[k.namespace or "" for k, _ in pairs],
            oids=[k.job_id for k, _ in pairs],
            ogens=[g for _, g in pairs],
        )
    if adopt_own:  # this host's own jobs it may not run (its labels changed): free them
        freed = conn.execute(
            "UPDATE uidt_jobs SET lease_owner = NULL, lease_expires_utc_ms = 0 "
            f"WHERE lease_owner = %(me)s AND NOT {book.runnable} "
            "RETURNING app, namespace, job_id",
            book.args(),
        ).fetchall()
        for row in freed:
            notify(conn, key_of(row))
    # one round trip: pick (skipping rows other hosts are claiming), take, and tell the
    # writers of the jobs that were free (offered jobs) that they were taken
    rows = conn.execute(
        "WITH picked AS (SELECT app, namespace, job_id, lease_owner IS NULL AS was_free, "
        "lease_owner IS NULL AND lease_expires_utc_ms = %(offered)s AS was_offered "
        f"FROM uidt_jobs WHERE ({CLAIMABLE}{own}) AND {book.runnable}{skip} "
        f"ORDER BY enqueue_time_utc_ms, app, namespace, job_id{bound} "
        "FOR UPDATE SKIP LOCKED), "
        "claimed AS (UPDATE uidt_jobs AS j SET lease_owner = %(me)s, "
        f"lease_expires_utc_ms = {NOW} + %(ttl)s, lease_generation = {GENERATION} "
        "FROM picked WHERE j.app = picked.app AND j.namespace = picked.namespace "
        "AND j.job_id = picked.job_id "
        "RETURNING j.app, j.namespace, j.job_id, j.record, j.lease_generation, "
        "picked.was_free, picked.was_offered) "
        "SELECT app, namespace, job_id, record, lease_generation, "
        f"CASE WHEN was_free THEN pg_notify(%(taken)s, {KEY_TEXT}) END, was_offered "
        "FROM claimed",
        book.args(limit=limit, taken=TAKEN_CHANNEL, offered=OFFERED_EXPIRY, **skip_args),
    ).fetchall()
    found: list[tuple[JobKey, str]] = []
    for row in rows:
        key = key_of(row)
        book.held[key] = int(row[4])
        book.offered.pop(key, None)
        book.lost.discard(key)
        (book.from_offers.add if row[6] else book.from_offers.discard)(key)
        found.append((key, row[3]))
    return found


def _skipping(book: LeaseBook, exclude: Collection[JobKey]) -> tuple[str, dict[str, Any]]:
    """The claim's condition leaving out ``exclude`` and this host's offers, its args."""
    skipped = sorted(set(exclude) | set(book.offered), key=str)
    if not skipped:
        return "", {}
    return (
        " AND (app, namespace, job_id) NOT IN (SELECT * FROM unnest(%(xapps)s::text[], "
        "%(xnss)s::text[], %(xids)s::bigint[]))",
        {
            "xapps": [k.app for k in skipped],
            "xnss": [k.namespace or "" for k in skipped],
            "xids": [k.job_id for k in skipped],
        },
    )


def peek(
    book: LeaseBook, conn: _Conn, limit: int, exclude: Collection[JobKey] = ()
) -> list[tuple[JobKey, int, str]]:
    """The first ``limit`` jobs a claim would take (not ``exclude``, not this host's
    offers), without claiming them: keys, generations, records."""
    skip, skip_args = _skipping(book, exclude)
    rows = conn.execute(
        "SELECT app, namespace, job_id, lease_generation, record FROM uidt_jobs "
        f"WHERE {CLAIMABLE} AND {book.runnable}{skip} "
        "ORDER BY enqueue_time_utc_ms, app, namespace, job_id LIMIT %(limit)s",
        book.args(limit=limit, **skip_args),
    ).fetchall()
    return [(key_of(row), int(row[3]), str(row[4])) for row in rows]
