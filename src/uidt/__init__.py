"""uidt: user-initiated data transfer jobs for Python (Android 14's UIDT jobs on ordinary computers)."""

from __future__ import annotations

from uidt.lazy import lazy_attributes

#: ``typing.TYPE_CHECKING`` without importing :mod:`typing` (about 10 ms with what it loads):
#: every uidt process imports this package first, the command line before its early knock
#: (type checkers take any module-level ``TYPE_CHECKING`` as true).
TYPE_CHECKING = False

if TYPE_CHECKING:
    from uidt.app.async_scheduler import AsyncJobScheduler
    from uidt.app.notifications import (
        AsyncNotificationManager,
        NotificationChannel,
        NotificationManager,
    )
    from uidt.app.receiver import NotificationActionReceiver
    from uidt.app.scheduler import JobScheduler
    from uidt.app.service import JobService
    from uidt.errors import UidtError
    from uidt.job import (
        BackoffPolicy,
        InternalStopReason,
        JobInfo,
        JobParameters,
        JobWorkItem,
        NetCapability,
        NetworkRequest,
        NetworkType,
        Notification,
        PendingReason,
        Priority,
        StopReason,
        Transport,
    )

__version__ = "0.1.0"

__all__ = [
    "AsyncJobScheduler",
    "AsyncNotificationManager",
    "BackoffPolicy",
    "InternalStopReason",
    "JobInfo",
    "JobParameters",
    "JobScheduler",
    "JobService",
    "JobWorkItem",
    "NetCapability",
    "NetworkRequest",
    "NetworkType",
    "Notification",
    "NotificationActionReceiver",
    "NotificationChannel",
    "NotificationManager",
    "PendingReason",
    "Priority",
    "StopReason",
    "Transport",
    "UidtError",
]

#: Where each public name lives. They are imported on first use, so a process that needs only
#: a corner of uidt (the CLI, an app worker, the transfer engine) does not pay for the rest.
_HOMES = {
    "AsyncJobScheduler": "uidt.app.async_scheduler",
    "AsyncNotificationManager": "uidt.app.notifications",
    "NotificationChannel": "uidt.app.notifications",
    "NotificationManager": "uidt.app.notifications",
    "NotificationActionReceiver": "uidt.app.receiver",
    "JobScheduler": "uidt.app.scheduler",
    "JobService": "uidt.app.service",
    "UidtError": "uidt.errors",
    **dict.fromkeys(
        (
            "BackoffPolicy",
            "InternalStopReason",
            "JobInfo",
            "JobParameters",
            "JobWorkItem",
            "NetCapability",
            "NetworkRequest",
            "NetworkType",
            "Notification",
            "PendingReason",
            "Priority",
            "StopReason",
            "Transport",
        ),
        "uidt.job",
    ),
}


__getattr__ = lazy_attributes(__name__, _HOMES)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
