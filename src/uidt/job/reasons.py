"""Stop and pending reasons, with Android's numbers and names (docs/android-semantics.md#reason-numbers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import IntEnum, StrEnum
from typing import Any


class StopReason(IntEnum):
    """Public stop reason handed to the app (``JobParameters.get_stop_reason()``)."""

    UNDEFINED = 0
    CANCELLED_BY_APP = 1
    PREEMPT = 2
    TIMEOUT = 3
    DEVICE_STATE = 4
    CONSTRAINT_BATTERY_NOT_LOW = 5
    CONSTRAINT_CHARGING = 6
    CONSTRAINT_CONNECTIVITY = 7
    CONSTRAINT_DEVICE_IDLE = 8
    CONSTRAINT_STORAGE_NOT_LOW = 9
    QUOTA = 10
    BACKGROUND_RESTRICTION = 11
    APP_STANDBY = 12
    USER = 13
    SYSTEM_PROCESSING = 14
    ESTIMATED_APP_LAUNCH_TIME_CHANGED = 15
    TIMEOUT_ABANDONED = 16


class Incomplete(StrEnum):
    """How a job its app ended ended without its work done (a uidt extension:
    ``JobService.job_ended_incomplete``). Its value is ``incomplete.how`` in ``uidt jobs
    --json``; the job reads ``finished`` (dropped, as Android drops it) and never ``completed``.
    """

    #: The user paused it: the app keeps what it did, to go on from there when resumed.
    PAUSED = "paused"
    #: The app gave the work up without calling it a failure.
    ABANDONED = "abandoned"


class InternalStopReason(IntEnum):
    """Internal stop reason, for logs, ``dumpsys`` and the Task Manager."""

    UNKNOWN = -1
    CANCELED = 0
    CONSTRAINTS_NOT_SATISFIED = 1
    PREEMPT = 2
    TIMEOUT = 3
    DEVICE_IDLE = 4
    DEVICE_THERMAL = 5
    RESTRICTED_BUCKET = 6
    UNINSTALL = 7
    DATA_CLEARED = 8
    RTC_UPDATED = 9
    SUCCESSFUL_FINISH = 10
    USER_UI_STOP = 11
    ANR = 12
    TIMEOUT_ABANDONED = 13


class PendingReason(IntEnum):
    """Why a job is not running (``get_pending_job_reason``)."""

    INVALID_JOB_ID = -2
    EXECUTING = -1
    UNDEFINED = 0
    APP = 1
    APP_STANDBY = 2
    BACKGROUND_RESTRICTION = 3
    CONSTRAINT_BATTERY_NOT_LOW = 4
    CONSTRAINT_CHARGING = 5
    CONSTRAINT_CONNECTIVITY = 6
    CONSTRAINT_CONTENT_TRIGGER = 7
    CONSTRAINT_DEVICE_IDLE = 8
    CONSTRAINT_MINIMUM_LATENCY = 9
    CONSTRAINT_PREFETCH = 10
    CONSTRAINT_STORAGE_NOT_LOW = 11
    DEVICE_STATE = 12
    JOB_SCHEDULER_OPTIMIZATION = 13
    QUOTA = 14
    USER = 15
    CONSTRAINT_DEADLINE = 16
    #: uidt's own (Android has no graceful stop of its scheduler): the daemon is stopping and
    #: starts nothing more; the job runs after the next start. Far above Android's values so a
    #: reason Android adds later cannot collide with it.
    SYSTEM_STOPPING = 100
    #: uidt's own (a fleet, docs/fleet.md): this host lacks one of the labels the job requires
    #: (``JobInfo.required_host_labels`` against the ``host_labels`` setting); a host having
    #: them all runs it.
    HOST_LABELS = 101


#: Pending reasons in words (``uidt.job.reasons.PendingReason``).
PENDING_WORDS: dict[int, str] = {
    PendingReason.APP: "the app cannot run now",
    PendingReason.APP_STANDBY: "the app is in standby",
    PendingReason.BACKGROUND_RESTRICTION: "the app is restricted in the background",
    PendingReason.CONSTRAINT_BATTERY_NOT_LOW: "waiting for the battery to recover",
    PendingReason.CONSTRAINT_CHARGING: "waiting for the charger",
    PendingReason.CONSTRAINT_CONNECTIVITY: "waiting for a suitable network",
    PendingReason.CONSTRAINT_CONTENT_TRIGGER: "waiting for a content change",
    PendingReason.CONSTRAINT_DEVICE_IDLE: "waiting for the device to be idle",
    PendingReason.CONSTRAINT_MINIMUM_LATENCY: "waiting for its delay (backoff) to pass",
    PendingReason.CONSTRAINT_PREFETCH: "waiting for the app's next use",
    PendingReason.CONSTRAINT_STORAGE_NOT_LOW: "waiting for free storage",
    PendingReason.DEVICE_STATE: "held back by the device (heat, memory or power saver)",
    PendingReason.JOB_SCHEDULER_OPTIMIZATION: "held back to save resources",
    PendingReason.QUOTA: "out of quota",
    PendingReason.USER: "stopped by the user",
    PendingReason.CONSTRAINT_DEADLINE: "waiting for its deadline",
    PendingReason.SYSTEM_STOPPING: "the daemon is stopping; it runs after the next start",
    PendingReason.HOST_LABELS: "waiting for a host with its labels",
    PendingReason.EXECUTING: "running",
    PendingReason.UNDEFINED: "waiting for a free slot",
}


def pending_words(reasons: list[int], labels: Sequence[str] = ()) -> list[str]:
    """Pending reasons as phrases; ``labels``: the job's required host labels, named by the
    ``HOST_LABELS`` reason ("waiting for a host with label gpu-rack")."""
    words = []
    for reason in reasons:
        if reason == PendingReason.HOST_LABELS and labels:
            plural = "s" if len(labels) > 1 else ""
            words.append(f"waiting for a host with label{plural} {', '.join(labels)}")
        elif reason in PENDING_WORDS:
            words.append(PENDING_WORDS[reason])
        else:
            try:
                words.append(PendingReason(reason).name.lower().replace("_", " "))
            except ValueError:
                words.append(f"reason {reason}")
    return words


#: Public stop reasons in words: why a running job was stopped (``uidt.job.reasons.StopReason``).
STOP_WORDS: dict[int, str] = {
    StopReason.UNDEFINED: "its run ended",
    StopReason.CANCELLED_BY_APP: "cancelled by the app",
    StopReason.PREEMPT: "made way for another job",
    StopReason.TIMEOUT: "ran out of time",
    StopReason.DEVICE_STATE: "held back by the device (heat, memory or power saver)",
    StopReason.CONSTRAINT_BATTERY_NOT_LOW: "the battery ran low",
    StopReason.CONSTRAINT_CHARGING: "the charger was unplugged",
    StopReason.CONSTRAINT_CONNECTIVITY: "the network was lost or no longer suited the job",
    StopReason.CONSTRAINT_DEVICE_IDLE: "the device stopped being idle",
    StopReason.CONSTRAINT_STORAGE_NOT_LOW: "storage ran low",
    StopReason.QUOTA: "out of quota",
    StopReason.BACKGROUND_RESTRICTION: "the app is restricted in the background",
    StopReason.APP_STANDBY: "the app went into standby",
    StopReason.USER: "stopped by the user",
    StopReason.SYSTEM_PROCESSING: "the system needed its resources",
    StopReason.ESTIMATED_APP_LAUNCH_TIME_CHANGED: "the app's next use moved",
    StopReason.TIMEOUT_ABANDONED: "ran out of time and looked abandoned",
}
#: Internal reasons that say more than their public reason.
_INTERNAL_STOP_WORDS: dict[int, str] = {
    InternalStopReason.DEVICE_THERMAL: "the device was too hot",
    InternalStopReason.ANR: "the app did not answer in time",
    InternalStopReason.USER_UI_STOP: "stopped by the user (Task Manager)",
    InternalStopReason.UNINSTALL: "the app was uninstalled",
    InternalStopReason.SUCCESSFUL_FINISH: "finished",
}


def stop_words(public: int, internal: int | None = None) -> str:
    """A stop reason pair as a phrase a user understands (``"the device was too hot"``)."""
    if internal is not None and internal in _INTERNAL_STOP_WORDS:
        return _INTERNAL_STOP_WORDS[internal]
    if public == StopReason.UNDEFINED and internal == InternalStopReason.UNKNOWN:
        return "the app's process died"
    if public in STOP_WORDS:
        return STOP_WORDS[public]
    return f"stop reason {public}"


def ended_on_its_own(public: int | None, internal: int | None) -> bool:
    """Whether a last run ended by the app's own ``job_finished`` (Android records the stop
    reason UNDEFINED with the internal SUCCESSFUL_FINISH): no stop to show, the state says it."""
    return (
        public or 0
    ) == StopReason.UNDEFINED and internal == InternalStopReason.SUCCESSFUL_FINISH


#: The states of a job that left the scheduler.
_ENDED_STATES = frozenset({"finished", "failed", "cancelled", "user-stopped"})


def completed(
    state: str | None, public: int | None, internal: int | None, incomplete: object = None
) -> bool | None:
    """Whether an ended job completed its work; ``None`` while it is still scheduled.

    The spec's state of a job that the system stopped and whose app answered ``on_stop_job``
    with "don't reschedule" is ``finished`` (Android drops it as it drops a job that called
    ``job_finished``), but its work was not done: only a last run that the app ended itself
    (internal ``SUCCESSFUL_FINISH``), or a finished job with no stop recorded, completed, and
    not when the app said it ended the job without its work done (``incomplete``: the
    ``incomplete`` field of its record, e.g. a paused transfer).
    """
    if state not in _ENDED_STATES:
        return None
    if state != "finished" or incomplete:
        return False
    return ended_on_its_own(public, internal) or stop_reason_text(public, internal) is None


def incomplete_words(incomplete: object) -> str | None:
    """The words of a record's ``incomplete`` field (``{"how": "paused", "reason": …}``):
    its reason, else its kind; ``None`` without one."""
    if not isinstance(incomplete, Mapping):
        return None
    return str(incomplete.get("reason") or incomplete.get("how") or Incomplete.ABANDONED)


def incomplete_end_words(
    state: str | None, public: int | None, internal: int | None, incomplete: object = None
) -> str | None:
    """What a job whose state reads ``finished`` went through when it did not complete, e.g.
    ``"ended without completing: stopped by the system (CONSTRAINT_CONNECTIVITY
    (CONSTRAINTS_NOT_SATISFIED)); the app did not reschedule it"`` or, when its app said so
    (``incomplete``, the record's field), ``"ended without completing: paused at 1 MiB of
    4 MiB"``; ``None`` for any other job. A status never lies: no view may show such a job as
    "finished" alone."""
    if state != "finished" or completed(state, public, internal, incomplete):
        return None
    said = incomplete_words(incomplete)
    if said is not None:
        return f"ended without completing: {said}"
    reason = stop_reason_text(public, internal)
    if internal == InternalStopReason.ANR:
        return f"ended without completing: the app did not answer in time ({reason}); dropped"
    if public == StopReason.USER:
        by = "by the user"
    elif public == StopReason.CANCELLED_BY_APP:
        by = "by the app"
    else:
        by = "by the system"
    return f"ended without completing: stopped {by} ({reason}); the app did not reschedule it"


def stop_reason_text(public: int | None, internal: int | None) -> str | None:
    """``"USER (USER_UI_STOP)"`` for a last stop, ``None`` when the job never stopped."""
    if public is None and internal is None:
        return None
    if (public or 0) == StopReason.UNDEFINED and internal in (None, InternalStopReason.UNKNOWN):
        return None  # the core's "never stopped" pair
    parts = []
    for enum, value in ((StopReason, public), (InternalStopReason, internal)):
        if value is None:
            continue
        try:
            parts.append(enum(value).name)
        except ValueError:
            parts.append(str(value))
    if len(parts) == 2:
        return f"{parts[0]} ({parts[1]})"
    return parts[0]


def crash_text(crash: Mapping[str, Any] | None) -> str | None:
    """``"RuntimeError: boom (3 times)"`` for a ``last_crash`` object, ``None`` without one."""
    if not crash:
        return None
    text = str(crash.get("type") or "Exception")
    if crash.get("message"):
        text += f": {crash['message']}"
    count = int(crash.get("count") or 1)
    return text + (f" ({count} times)" if count > 1 else "")
