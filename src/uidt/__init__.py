"""uidt: user-initiated data transfer jobs for Python (Android 14's UIDT jobs on ordinary computers)."""

from __future__ import annotations

from uidt.app.async_scheduler import AsyncJobScheduler
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
    "PendingReason",
    "Priority",
    "StopReason",
    "Transport",
    "UidtError",
]
