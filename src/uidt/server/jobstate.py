"""``JobState``: the states a user sees for a job, the legal moves between them, and the one place
the state of a scheduled job is derived.

A scheduled job is ``waiting`` (something holds it back), ``ready`` (every constraint met, not yet
queued), ``pending`` (in the pending queue, waiting for a slot) or ``active`` (it has an execution
slot). A job leaves the core in one of four terminal states: ``finished``, ``failed``,
``cancelled`` or ``user-stopped`` (the Task Manager's Stop dropped it while it ran). The strings
are the ``state`` field of ``uidt jobs --json``.

Android keeps the same facts as bits and queues of ``JobStatus`` (``isReady``, membership of
``PendingJobQueue``, ``JobConcurrencyManager``'s running set); here they are folded into one value
so a status can be checked against a transition table: a job that ended never comes back, and no
job ends ``finished`` or ``failed`` without having run.
"""

from __future__ import annotations

from enum import StrEnum

from uidt.errors import IllegalTransitionError


class JobState(StrEnum):
    """A job's user-visible state (its value is the JSON string)."""

    WAITING = "waiting"
    READY = "ready"
    PENDING = "pending"
    ACTIVE = "active"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    USER_STOPPED = "user-stopped"

    @property
    def terminal(self) -> bool:
        """The job has left the scheduler in this state."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {JobState.FINISHED, JobState.FAILED, JobState.CANCELLED, JobState.USER_STOPPED}
)

#: Where each state may go. A job starts only from the pending queue; only a job that ran may
#: finish, fail or be dropped by the user; any scheduled job may be cancelled; an ended job stays
#: ended. Staying in the same state is always allowed.
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.WAITING: frozenset({JobState.READY, JobState.PENDING, JobState.CANCELLED}),
    JobState.READY: frozenset({JobState.WAITING, JobState.PENDING, JobState.CANCELLED}),
    JobState.PENDING: frozenset(
        {JobState.WAITING, JobState.READY, JobState.ACTIVE, JobState.CANCELLED}
    ),
    JobState.ACTIVE: frozenset(
        {
            JobState.WAITING,
            JobState.READY,
            JobState.PENDING,
            JobState.FINISHED,
            JobState.FAILED,
            JobState.CANCELLED,
            JobState.USER_STOPPED,
        }
    ),
    JobState.FINISHED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
    JobState.USER_STOPPED: frozenset(),
}


def check_transition(old: JobState, new: JobState) -> JobState:
    """``new`` when the table allows ``old`` → ``new``.

    Raises:
        IllegalTransitionError: the move is not in :data:`TRANSITIONS`.
    """
    if new is not old and new not in TRANSITIONS[old]:
        raise IllegalTransitionError(f"a job may not go from {old.value} to {new.value}")
    return new


def derive(*, running: bool, queued: bool, ready: bool) -> JobState:
    """The state of a scheduled job from the three facts the core keeps about it."""
    if running:
        return JobState.ACTIVE
    if queued:
        return JobState.PENDING
    return JobState.READY if ready else JobState.WAITING
