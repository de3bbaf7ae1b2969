"""The SQL behind :class:`~uidt.store.fleet.FleetStore` on PostgreSQL (schema version 4).

Used by :class:`~uidt.store.postgres.PostgresJobStore` inside its transactions (under its lock),
with its :class:`~uidt.store.pg_leases.LeaseBook`. The rules are in docs/fleet.md, "One view of
the fleet".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from uidt.job.key import JobKey
from uidt.store.fleet import FleetJob, FleetSnapshot, StopOutcome, StopRequest
from uidt.store.pg_leases import (
    CLAIMABLE,
    KEY,
    NOW,
    STOP_CHANNEL,
    LeaseBook,
    key_args,
    key_of,
)
from uidt.store.record import JobRecord, NotificationRecord

_Conn = psycopg.Connection[Any]
#: Most settled requests a fleet view lists (open ones are always listed).
RECENT_DONE = 50
#: Settled requests are deleted this long after they were settled (at a host's next look for
#: requests); open ones are kept however old.
KEEP_SETTLED_MS = 24 * 3600 * 1000
_REQUEST_COLUMNS = (
    "id, app, namespace, job_id, job_generation, requested_by, requested_utc_ms, sent_to, "
    "done_by, done_utc_ms, outcome"
)


def _request(row: Sequence[Any]) -> StopRequest:
    return StopRequest(
        request_id=int(row[0]),
        key=key_of(row[1:4]),
        job_generation=int(row[4]),
        requested_by=str(row[5]),
        requested_utc_ms=int(row[6]),
        sent_to=row[7],
        done_by=row[8],
        done_utc_ms=None if row[9] is None else int(row[9]),
        outcome=None if row[10] is None else StopOutcome(row[10]),
    )


def fleet_snapshot(
    conn: _Conn,
    book: LeaseBook,
    decode: Callable[[str], JobRecord],
    decode_notification: Callable[[str], NotificationRecord],
) -> FleetSnapshot:
    """Every job with its lease, the hosts' run lists, notifications and stop requests."""
    now = int(conn.execute(f"SELECT {NOW}", book.args()).fetchone()[0])  # type: ignore[index]
    hosts: dict[str, int] = {}
    running: set[tuple[str, JobKey]] = set()
    for host, text, seen in conn.execute(
        "SELECT host_id, running, seen_utc_ms FROM uidt_host_runs"
    ):
        hosts[str(host)] = int(seen)
        running.update((str(host), key_of(item)) for item in json.loads(text))
    shown: dict[tuple[str, JobKey], NotificationRecord] = {}
    for host, text in conn.execute("SELECT host_id, record FROM uidt_notifications"):
        note = decode_notification(text)
        if note.job is not None:
            shown[(str(host), note.job)] = note
    requests = [
        _request(row)
        for row in conn.execute(
            f"SELECT {_REQUEST_COLUMNS} FROM uidt_stop_requests "
            "ORDER BY done_utc_ms IS NOT NULL, id DESC LIMIT %(most)s",
            {"most": RECENT_DONE},
        )
    ]
    newest: dict[JobKey, StopRequest] = {}
    for request in requests:
        newest.setdefault(request.key, request)
    jobs: list[FleetJob] = []
    rows = conn.execute(
        "SELECT app, namespace, job_id, record, lease_owner, lease_expires_utc_ms, "
        "lease_generation FROM uidt_jobs ORDER BY app, namespace, job_id"
    ).fetchall()
    for row in rows:
        key, host = key_of(row), row[4]
        expired = host is None or int(row[5]) <= now
        jobs.append(
            FleetJob(
                record=decode(row[3]),
                host=host,
                lease_expires_utc_ms=int(row[5]),
                lease_generation=int(row[6]),
                expired=expired,
                running=host is not None and not expired and (host, key) in running,
                notification=None if host is None else shown.get((host, key)),
                stop_request=newest.get(key),
            )
        )
    requests.sort(key=lambda r: (r.done, -r.request_id))
    return FleetSnapshot(now_utc_ms=now, jobs=jobs, hosts=hosts, stop_requests=requests)


def claim_keys(conn: _Conn, book: LeaseBook, keys: Sequence[JobKey]) -> list[tuple[JobKey, str]]:
    """Claim those of ``keys`` whose lease is free or expired: keys and records."""
    found: list[tuple[JobKey, str]] = []
    for key in keys:
        row = conn.execute(
            "UPDATE uidt_jobs SET lease_owner = %(me)s, "
            f"lease_expires_utc_ms = {NOW} + %(ttl)s, "
            "lease_generation = nextval('uidt_lease_generation') "
            f"WHERE {KEY} AND {CLAIMABLE} RETURNING record, lease_generation",
            book.args(**key_args(key)),
        ).fetchone()
        if row is not None:
            book.held[key] = int(row[1])
            book.lost.discard(key)
            found.append((key, str(row[0])))
    return found


def insert_request(conn: _Conn, book: LeaseBook, key: JobKey, generation: int) -> StopRequest:
    """A new open stop request, sent to whichever host holds a live lease on ``key``."""
    row = conn.execute(
        "INSERT INTO uidt_stop_requests (app, namespace, job_id, job_generation, requested_by, "
        "requested_utc_ms, sent_to) VALUES (%(app)s, %(ns)s, %(id)s, %(gen)s, %(me)s, "
        f"{NOW}, (SELECT lease_owner FROM uidt_jobs WHERE {KEY} AND NOT {CLAIMABLE})) "
        f"RETURNING {_REQUEST_COLUMNS}",
        book.args(**key_args(key), gen=generation),
    ).fetchone()
    assert row is not None  # an INSERT … RETURNING always returns its row
    request = _request(row)
    # heard by the holder at the commit (uidt.store.pg_wake), which picks it up at once
    conn.execute("SELECT pg_notify(%s, %s)", (STOP_CHANNEL, request.sent_to or ""))
    return request


def open_requests(conn: _Conn, book: LeaseBook) -> list[StopRequest]:
    """Settle the open requests whose job is gone, delete those settled more than
    :data:`KEEP_SETTLED_MS` ago; the open ones for jobs this host holds."""
    conn.execute(
        f"DELETE FROM uidt_stop_requests WHERE done_utc_ms < {NOW} - %(keep)s",
        book.args(keep=KEEP_SETTLED_MS),
    )
    conn.execute(
        f"UPDATE uidt_stop_requests r SET done_by = %(me)s, done_utc_ms = {NOW}, "
        "outcome = %(gone)s WHERE done_utc_ms IS NULL AND NOT EXISTS (SELECT 1 FROM uidt_jobs j "
        "WHERE j.app = r.app AND j.namespace = r.namespace AND j.job_id = r.job_id)",
        book.args(gone=StopOutcome.GONE.value),
    )
    held = dict(book.held)
    if not held:
        return []
    rows = conn.execute(
        f"SELECT {', '.join('r.' + c.strip() for c in _REQUEST_COLUMNS.split(','))} "
        "FROM uidt_stop_requests r JOIN uidt_jobs j ON j.app = r.app "
        "AND j.namespace = r.namespace AND j.job_id = r.job_id "
        "WHERE r.done_utc_ms IS NULL AND j.lease_owner = %(me)s ORDER BY r.id",
        book.args(),
    ).fetchall()
    return [_request(row) for row in rows if key_of(row[1:4]) in held]


def settle(conn: _Conn, book: LeaseBook, outcomes: Sequence[tuple[int, StopOutcome]]) -> None:
    """Mark requests done by this host (a request settled already keeps its first outcome)."""
    for request_id, outcome in outcomes:
        conn.execute(
            f"UPDATE uidt_stop_requests SET done_by = %(me)s, done_utc_ms = {NOW}, "
            "outcome = %(outcome)s WHERE id = %(rid)s AND done_utc_ms IS NULL",
            book.args(rid=request_id, outcome=outcome.value),
        )


def supersede(conn: _Conn, book: LeaseBook, key: JobKey) -> None:
    """A new scheduling of ``key`` on this host (a write of a job it did not hold): the open
    stop requests for the job were about an earlier one. Each host numbers its own schedulings,
    so the new one's generation could equal the one a request names: settle them ``stale``."""
    conn.execute(
        f"UPDATE uidt_stop_requests SET done_by = %(me)s, done_utc_ms = {NOW}, "
        f"outcome = %(stale)s WHERE {KEY} AND done_utc_ms IS NULL",
        book.args(**key_args(key), stale=StopOutcome.STALE.value),
    )


def publish(conn: _Conn, book: LeaseBook, keys: Sequence[JobKey]) -> None:
    """Write this host's list of running jobs, with the store's now."""
    running = json.dumps([[k.app, k.namespace or "", k.job_id] for k in keys])
    conn.execute(
        "INSERT INTO uidt_host_runs (host_id, running, seen_utc_ms) "
        f"VALUES (%(me)s, %(running)s, {NOW}) ON CONFLICT (host_id) DO UPDATE "
        "SET running = EXCLUDED.running, seen_utc_ms = EXCLUDED.seen_utc_ms",
        book.args(running=running),
    )


class PostgresFleet:
    """:class:`~uidt.store.fleet.FleetStore` of a :class:`~uidt.store.postgres.PostgresJobStore`
    (its ``fleet``): the store hands in its transaction runner, lease book and decoders.

    Args:
        host_id: this host.
        run: runs a function in one transaction of the store (under its lock).
        leases: the store's lease book.
        decode: a job record from its JSON text.
        decode_notification: a notification record from its JSON text.
        release: the store's :meth:`~uidt.store.postgres.PostgresJobStore.release`.
    """

    def __init__(
        self,
        host_id: str,
        *,
        run: Callable[[str, Callable[[_Conn], Any]], Any],
        leases: LeaseBook,
        decode: Callable[[str], JobRecord],
        decode_notification: Callable[[str], NotificationRecord],
        release: Callable[[Sequence[JobKey]], None],
    ) -> None:
        self.host_id = host_id
        self._run, self._leases = run, leases
        self._decode, self._decode_notification = decode, decode_notification
        self._release = release

    def fleet_jobs(self) -> FleetSnapshot:
        snapshot: FleetSnapshot = self._run(
            "fleet_jobs",
            lambda c: fleet_snapshot(c, self._leases, self._decode, self._decode_notification),
        )
        return snapshot

    def claim_jobs(self, keys: Sequence[JobKey]) -> list[JobRecord]:
        rows = self._run("claim_jobs", lambda c: claim_keys(c, self._leases, keys))
        found: list[JobRecord] = []
        for _key, text in rows:
            record = self._decode(text)
            record.num_failures = record.num_system_stops = 0  # as loaded by a restarted daemon
            found.append(record)
        return found

    def request_stop(self, key: JobKey, job_generation: int) -> StopRequest:
        request: StopRequest = self._run(
            "request_stop", lambda c: insert_request(c, self._leases, key, job_generation)
        )
        return request

    def open_stop_requests(self) -> list[StopRequest]:
        found: list[StopRequest] = self._run(
            "open_stop_requests", lambda c: open_requests(c, self._leases)
        )
        return found

    def settle_stop_requests(self, outcomes: Sequence[tuple[int, StopOutcome]]) -> None:
        self._run("settle_stop_requests", lambda c: settle(c, self._leases, outcomes))

    def publish_running(self, keys: Sequence[JobKey]) -> None:
        self._run("publish_running", lambda c: publish(c, self._leases, keys))

    def release(self, keys: Sequence[JobKey]) -> None:
        self._release(keys)
