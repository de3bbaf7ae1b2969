"""uidt: user-initiated data transfer jobs for Python (Android 14's UIDT jobs on ordinary computers)."""

from __future__ import annotations

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
    "UidtError",
]
