"""Which scheduling of a job a record is about, and whether a new one is the same job.

Android names a job by (app, namespace, job id) alone; scheduling it again replaces it. uidt adds
a *generation*: a number the core gives each scheduling at admission (higher than every earlier
one, kept in the store across restarts, unchanged when work is added to the same job). A client
that scheduled a job follows exactly that generation, so an earlier run for the same id (a
replaced, stopped or failed one) never answers for it.

:func:`attachable` is the test behind ``"attach": true`` on a schedule request: the job already
scheduled under that id is the *same* job (equal ``JobInfo``) and will still run, so the caller
follows it instead of replacing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.job.key import JobKey
from uidt.server.status import JobStatus
from uidt.store.record import JobRecord

if TYPE_CHECKING:
    from uidt.job.info import JobInfo
    from uidt.server.core import SchedulerCore

#: The key of the generation in ``JobRecord.extra``.
GENERATION_KEY = "generation"


def stored_generation(record: JobRecord) -> int:
    """The generation kept with a stored job; 0 (a new one is given) when absent or not valid."""
    value = record.extra.get(GENERATION_KEY)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return 0
    return value


def attachable(core: SchedulerCore, key: JobKey, job: JobInfo) -> JobStatus | None:
    """The scheduled job under ``key`` if it is ``job`` itself and will still run, else ``None``.

    Not attachable: another ``JobInfo`` under the id (a new URL, other constraints), a job of an
    app the user stopped in the Task Manager, or a user-initiated job the user's stop demoted
    (scheduling it anew restores it; attaching would follow a job that no longer runs as one).
    """
    status = core.jobs.get(key)
    if status is None or status.job != job or core.registry.is_user_stopped(key.app):
        return None
    if job.is_user_initiated() and not status.treated_as_uij:
        return None
    return status


class Generations:
    """Numbers the schedulings of jobs: each a number never handed out before (the core's)."""

    def __init__(self) -> None:
        self._next = 1

    def reserve(self) -> int:
        """The generation of a scheduling about to be made (the daemon stores the job first,
        ``uidt.server.preview``); never handed out again."""
        generation = self._next
        self._next += 1
        return generation

    def assign(self, generation: int) -> int:
        """``generation`` if set (reserved, or loaded from the store), else the next one; every
        later one is higher."""
        if generation < 1:
            generation = self.reserve()
        self._next = max(self._next, generation + 1)
        return generation
