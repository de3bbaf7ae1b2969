"""Stop and pending reasons, with Android's numbers and names (reference §11)."""

from __future__ import annotations

from enum import IntEnum


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
