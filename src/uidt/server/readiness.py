"""Readiness, pending reasons and the stop reasons of lost constraints (docs/android-semantics.md)."""

from __future__ import annotations

from typing import NamedTuple

from uidt.job.reasons import InternalStopReason, PendingReason, StopReason
from uidt.server.status import Bit, JobStatus

#: Unsatisfied constraint → pending reason, in Android's reporting order.
_PENDING_ORDER: tuple[tuple[int, PendingReason], ...] = (
    (Bit.BACKGROUND_NOT_RESTRICTED, PendingReason.BACKGROUND_RESTRICTION),
    (Bit.BATTERY_NOT_LOW, PendingReason.CONSTRAINT_BATTERY_NOT_LOW),
    (Bit.CHARGING, PendingReason.CONSTRAINT_CHARGING),
    (Bit.CONNECTIVITY, PendingReason.CONSTRAINT_CONNECTIVITY),
    (Bit.STORAGE_NOT_LOW, PendingReason.CONSTRAINT_STORAGE_NOT_LOW),
    (Bit.TIMING_DELAY, PendingReason.CONSTRAINT_MINIMUM_LATENCY),
)

#: Lost constraint → public stop reason, in the order a running job reports them.
_STOP_ORDER: tuple[tuple[int, StopReason], ...] = (
    (Bit.CONNECTIVITY, StopReason.CONSTRAINT_CONNECTIVITY),
    (Bit.CHARGING, StopReason.CONSTRAINT_CHARGING),
    (Bit.BATTERY_NOT_LOW, StopReason.CONSTRAINT_BATTERY_NOT_LOW),
    (Bit.STORAGE_NOT_LOW, StopReason.CONSTRAINT_STORAGE_NOT_LOW),
)


class Blocks(NamedTuple):
    """Implicit (not requested) reasons a job may not run, supplied by the service.

    A named tuple, not a dataclass: the check pass builds one per evaluated job.
    """

    app_missing: bool = False
    user_stopped: bool = False
    power_saver: bool = False
    restricted: bool = False
    #: This host lacks a label the job requires (a fleet's host requirements, docs/fleet.md).
    lacks_host_labels: bool = False


def is_ready(status: JobStatus, blocks: Blocks) -> bool:
    """All required constraints satisfied and nothing implicit holds the job back."""
    return not (
        blocks.app_missing
        or blocks.user_stopped
        or blocks.power_saver
        or blocks.restricted
        or blocks.lacks_host_labels
        or status.unsatisfied()
    )


def pending_reasons(
    status: JobStatus, blocks: Blocks, *, running: bool, queued: bool, stopping: bool = False
) -> tuple[PendingReason, ...]:
    """Why the job is not running, in Android's order (``getPendingJobReasons``).

    ``stopping``: the daemon is stopping and starts nothing more; ``SYSTEM_STOPPING`` (uidt's
    own reason) follows the job's other reasons, or stands alone for a job that is otherwise
    free to run.
    """
    if running:
        return (PendingReason.EXECUTING,)
    if blocks.user_stopped:
        return (PendingReason.USER,)
    if blocks.app_missing:
        return (PendingReason.APP,)
    reasons: list[PendingReason] = []
    if blocks.lacks_host_labels:  # first: no change of this device's state can run it here
        reasons.append(PendingReason.HOST_LABELS)
    if blocks.power_saver:
        reasons.append(PendingReason.DEVICE_STATE)
    missing = status.unsatisfied()
    reasons += [reason for bit, reason in _PENDING_ORDER if missing & bit]
    if blocks.restricted and PendingReason.DEVICE_STATE not in reasons:
        reasons.append(PendingReason.DEVICE_STATE)
    if stopping:
        reasons.append(PendingReason.SYSTEM_STOPPING)
    if reasons:
        return tuple(reasons)
    if queued:
        return (PendingReason.DEVICE_STATE,)
    return (PendingReason.UNDEFINED,)


def stop_reason_for(status: JobStatus, blocks: Blocks) -> tuple[StopReason, InternalStopReason]:
    """The stop reasons of a running job that is no longer ready (docs/android-semantics.md).

    A lost constraint comes before a restriction (Android's ``stopNonReadyActiveJobsLocked``
    asks ``isReady`` first), and of the constraints background restriction first.
    """
    missing = status.unsatisfied()
    if missing & Bit.BACKGROUND_NOT_RESTRICTED:
        return StopReason.BACKGROUND_RESTRICTION, InternalStopReason.CONSTRAINTS_NOT_SATISFIED
    if blocks.restricted:
        return StopReason.DEVICE_STATE, InternalStopReason.DEVICE_THERMAL
    if blocks.app_missing:
        return StopReason.USER, InternalStopReason.UNINSTALL
    for bit, reason in _STOP_ORDER:
        if missing & bit:
            return reason, InternalStopReason.CONSTRAINTS_NOT_SATISFIED
    return StopReason.DEVICE_STATE, InternalStopReason.CONSTRAINTS_NOT_SATISFIED
