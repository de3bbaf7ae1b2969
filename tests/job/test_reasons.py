"""Stop and pending reasons carry Android's numbers and names (docs/android-semantics.md#reason-numbers)."""

from __future__ import annotations

from uidt.job import InternalStopReason, PendingReason, StopReason
from uidt.job.reasons import Incomplete, completed, incomplete_end_words, pending_words


def test_stop_reason_numbers() -> None:
    assert [(r.name, int(r)) for r in StopReason] == [
        ("UNDEFINED", 0),
        ("CANCELLED_BY_APP", 1),
        ("PREEMPT", 2),
        ("TIMEOUT", 3),
        ("DEVICE_STATE", 4),
        ("CONSTRAINT_BATTERY_NOT_LOW", 5),
        ("CONSTRAINT_CHARGING", 6),
        ("CONSTRAINT_CONNECTIVITY", 7),
        ("CONSTRAINT_DEVICE_IDLE", 8),
        ("CONSTRAINT_STORAGE_NOT_LOW", 9),
        ("QUOTA", 10),
        ("BACKGROUND_RESTRICTION", 11),
        ("APP_STANDBY", 12),
        ("USER", 13),
        ("SYSTEM_PROCESSING", 14),
        ("ESTIMATED_APP_LAUNCH_TIME_CHANGED", 15),
        ("TIMEOUT_ABANDONED", 16),
    ]


def test_internal_stop_reason_numbers() -> None:
    assert [(r.name, int(r)) for r in InternalStopReason] == [
        ("UNKNOWN", -1),
        ("CANCELED", 0),
        ("CONSTRAINTS_NOT_SATISFIED", 1),
        ("PREEMPT", 2),
        ("TIMEOUT", 3),
        ("DEVICE_IDLE", 4),
        ("DEVICE_THERMAL", 5),
        ("RESTRICTED_BUCKET", 6),
        ("UNINSTALL", 7),
        ("DATA_CLEARED", 8),
        ("RTC_UPDATED", 9),
        ("SUCCESSFUL_FINISH", 10),
        ("USER_UI_STOP", 11),
        ("ANR", 12),
        ("TIMEOUT_ABANDONED", 13),
    ]


def test_pending_reason_numbers() -> None:
    assert [(r.name, int(r)) for r in PendingReason] == [
        ("INVALID_JOB_ID", -2),
        ("EXECUTING", -1),
        ("UNDEFINED", 0),
        ("APP", 1),
        ("APP_STANDBY", 2),
        ("BACKGROUND_RESTRICTION", 3),
        ("CONSTRAINT_BATTERY_NOT_LOW", 4),
        ("CONSTRAINT_CHARGING", 5),
        ("CONSTRAINT_CONNECTIVITY", 6),
        ("CONSTRAINT_CONTENT_TRIGGER", 7),
        ("CONSTRAINT_DEVICE_IDLE", 8),
        ("CONSTRAINT_MINIMUM_LATENCY", 9),
        ("CONSTRAINT_PREFETCH", 10),
        ("CONSTRAINT_STORAGE_NOT_LOW", 11),
        ("DEVICE_STATE", 12),
        ("JOB_SCHEDULER_OPTIMIZATION", 13),
        ("QUOTA", 14),
        ("USER", 15),
        ("CONSTRAINT_DEADLINE", 16),
        ("SYSTEM_STOPPING", 100),
        ("HOST_LABELS", 101),  # uidt's own: the daemon is stopping
    ]


def test_reasons_are_ints() -> None:
    assert StopReason(13) is StopReason.USER
    assert int(StopReason.TIMEOUT) == 3
    assert InternalStopReason(-1) is InternalStopReason.UNKNOWN
    assert PendingReason(-2) is PendingReason.INVALID_JOB_ID


def test_the_host_labels_reason_names_the_labels() -> None:
    assert pending_words([PendingReason.HOST_LABELS], ["gpu-rack"]) == [
        "waiting for a host with label gpu-rack"
    ]
    assert pending_words([PendingReason.HOST_LABELS], ["gpu", "ssd"]) == [
        "waiting for a host with labels gpu, ssd"
    ]
    assert pending_words([PendingReason.HOST_LABELS]) == ["waiting for a host with its labels"]


def test_a_job_its_app_ended_incomplete_never_reads_completed() -> None:
    own = (StopReason.UNDEFINED, InternalStopReason.SUCCESSFUL_FINISH)
    assert completed("finished", *own) is True
    paused = {"how": "paused", "reason": "paused at 1 MiB of 4 MiB"}
    assert completed("finished", *own, paused) is False
    assert completed("active", *own, paused) is None  # still scheduled
    assert incomplete_end_words("finished", *own) is None
    assert incomplete_end_words("finished", *own, paused) == (
        "ended without completing: paused at 1 MiB of 4 MiB"
    )
    assert incomplete_end_words("finished", *own, {"how": "abandoned"}) == (
        "ended without completing: abandoned"
    )
    assert incomplete_end_words("failed", *own, paused) is None  # its failure says it
    assert Incomplete("paused") is Incomplete.PAUSED
