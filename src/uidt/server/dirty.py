"""``DirtyJobs``: which jobs the next check pass must re-evaluate (Android's changed-jobs set)."""

from __future__ import annotations

from collections.abc import Iterable

from uidt.job.key import JobKey


class DirtyJobs:
    """Jobs marked for re-evaluation, or "every job"."""

    def __init__(self) -> None:
        self._keys: set[JobKey] = set()
        self._everyone = False

    def __contains__(self, key: object) -> bool:
        return self._everyone or key in self._keys

    def add(self, key: JobKey) -> None:
        """Re-evaluate this job."""
        self._keys.add(key)

    def update(self, keys: Iterable[JobKey]) -> None:
        """Re-evaluate these jobs."""
        self._keys.update(keys)

    def add_all(self) -> None:
        """Re-evaluate every job."""
        self._everyone = True

    def discard(self, key: JobKey) -> None:
        """The job is gone: nothing to re-evaluate."""
        self._keys.discard(key)

    def take(self) -> tuple[bool, set[JobKey]]:
        """``(every job, the marked keys)``, and start afresh."""
        everyone, keys = self._everyone, self._keys
        self._everyone, self._keys = False, set()
        return everyone, keys
