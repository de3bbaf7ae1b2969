"""The lease side of :class:`~uidt.store.postgres.PostgresJobStore` (docs/fleet.md).

Mixed into the store, which supplies the transaction runner, the lease book and the record
decoder: claiming, heartbeats, self-fencing and giving leases back
(:class:`~uidt.store.base.LeasingJobStore`). Offering jobs to the other hosts is the store's
``offering`` (:class:`uidt.store.pg_offers.PostgresOffers`). The SQL is in
:mod:`uidt.store.pg_leases` and :mod:`uidt.store.pg_claims`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from typing import Any

import psycopg

from uidt.job.key import JobKey
from uidt.store import pg_claims
from uidt.store.base import Heartbeat, sort_key
from uidt.store.pg_leases import LeaseBook
from uidt.store.record import JobRecord

_Conn = psycopg.Connection[Any]


class LeasingMixin:
    """Leases and claims of one host (see the module doc)."""

    lease_ms: int
    _leases: LeaseBook
    _lock: threading.RLock

    def _run(
        self, what: str, fn: Callable[[_Conn], Any], wait_s: float | None = None
    ) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _decode(self, text: str) -> JobRecord:  # pragma: no cover
        raise NotImplementedError

    def claim(self, limit: int | None = None) -> list[JobRecord]:
        """Claim up to ``limit`` jobs whose lease is free or expired (oldest enqueued first),
        never the ones this host offered.

        The records come as a restarted daemon loads them (failure counters reset to 0).
        """
        return self._claim(limit, adopt_own=False)

    def _claim(
        self,
        limit: int | None,
        *,
        adopt_own: bool,
        exclude: Collection[JobKey] = (),
        only: Collection[tuple[JobKey, int]] | None = None,
    ) -> list[JobRecord]:
        rows = self._run(
            "claim",
            lambda c: pg_claims.claim(
                self._leases, c, limit, adopt_own=adopt_own, exclude=exclude, only=only
            ),
        )
        found: list[JobRecord] = []
        for _key, text in rows:
            record = self._decode(text)
            record.num_failures = record.num_system_stops = 0
            found.append(record)
        return sorted(found, key=sort_key)

    def heartbeat(self) -> Heartbeat:
        """Renew every lease this host holds; report the ones it lost since."""
        # never longer than a period: the keeper's next tick checks the fencing deadline anyway
        result: Heartbeat = self._run(
            "heartbeat", self._leases.renew, wait_s=max(0.1, self.lease_ms / 3000)
        )
        return result

    def abandon(self) -> list[JobKey]:
        """Give up every lease in memory only (the database is unreachable): this host writes
        none of these jobs again; they are claimable once their leases expire. Returns them.

        Never waits for the store's lock (a call may be stuck in an unanswering database): the
        leases are dropped at once for :meth:`held`, and from the store's memory before its
        next call."""
        return self._leases.request_fence()

    def held(self) -> dict[JobKey, int]:
        """The jobs this host holds, with the lease generation of each (never waits)."""
        return self._leases.held_now()

    @property
    def offered(self) -> list[JobKey]:
        """The jobs this host stored free to claim (it lacks a label they require) or offered
        (it cannot start them now) and that no other host has claimed yet, as far as this host
        knows (never waits)."""
        return list(self._leases.offered)

    def lease_owner(self, key: JobKey) -> str | None:
        owner: str | None = self._run("lease_owner", lambda c: self._leases.owner(c, key))
        return owner

    def release_all(self) -> None:
        """Free every lease this host holds (its clean shutdown): others may claim them now."""
        with self._lock:
            keys = list(self._leases.held)
        self.release(keys)

    def release(self, keys: Sequence[JobKey]) -> None:
        """Free the leases of ``keys`` this host holds (others are left alone)."""
        self._run("release", lambda c: self._leases.release(c, keys))
