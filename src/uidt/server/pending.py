"""``PendingQueue``: ready jobs waiting for an execution slot (Android's ``PendingJobQueue``).

It owns two sets and their invariant: the user-initiated part is always a subset of the whole
queue. That every queued key is a scheduled job is the core's half of the bargain: it takes a job
off the queue when it drops the job (:meth:`SchedulerCore._remove`).
"""

from __future__ import annotations

from collections.abc import Iterator, Set

from uidt.job.key import JobKey
from uidt.server.status import JobStatus


class PendingQueue:
    """The pending queue and its user-initiated subset."""

    def __init__(self) -> None:
        self._all: set[JobKey] = set()
        self._uij: set[JobKey] = set()

    def __contains__(self, key: object) -> bool:
        return key in self._all

    def __len__(self) -> int:
        return len(self._all)

    def __bool__(self) -> bool:
        return bool(self._all)

    def __iter__(self) -> Iterator[JobKey]:
        return iter(self._all)

    def add(self, status: JobStatus, now: int) -> None:
        """Queue a ready job (or keep it queued, re-filed by its current UIJ treatment).

        ``pending_since`` is set when the job enters the queue, not when it is re-filed, so the
        max-wait bypass measures the whole wait.
        """
        key = status.key
        if key not in self._all:
            self._all.add(key)
            status.pending_since = now
        if status.treated_as_uij:
            self._uij.add(key)
        else:
            self._uij.discard(key)

    def discard(self, key: JobKey) -> None:
        """Take a job off the queue (nothing happens when it is not queued)."""
        self._all.discard(key)
        self._uij.discard(key)

    def uij(self) -> Set[JobKey]:
        """The queued jobs treated as user-initiated (a read-only view)."""
        return self._uij

    def has_uij(self) -> bool:
        """At least one queued job is treated as user-initiated."""
        return bool(self._uij)

    def regular(self) -> Set[JobKey]:
        """The queued jobs not treated as user-initiated (a new set)."""
        return self._all - self._uij

    def broken_invariants(self, jobs: Set[JobKey]) -> list[str]:
        """What is wrong with the queue against the scheduled ``jobs`` (empty when all holds)."""
        problems = []
        if not self._uij <= self._all:
            problems.append(f"uij part not queued: {sorted(map(str, self._uij - self._all))}")
        if not self._all <= jobs:
            problems.append(f"queued but not scheduled: {sorted(map(str, self._all - jobs))}")
        return problems
