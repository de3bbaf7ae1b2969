"""Value types shared by apps and the system (Android's ``android.app.job``)."""

from __future__ import annotations

from uidt.job.info import JobInfo, TriggerContentUri
from uidt.job.network import NetCapability, NetworkRequest, NetworkType, Transport
from uidt.job.notification import EndPolicy, Notification, NotificationAction
from uidt.job.params import JobParameters
from uidt.job.priority import BackoffPolicy, Priority
from uidt.job.reasons import InternalStopReason, PendingReason, StopReason
from uidt.job.work import JobWorkItem

__all__ = [
    "BackoffPolicy",
    "EndPolicy",
    "InternalStopReason",
    "JobInfo",
    "JobParameters",
    "JobWorkItem",
    "NetCapability",
    "NetworkRequest",
    "NetworkType",
    "Notification",
    "NotificationAction",
    "PendingReason",
    "Priority",
    "StopReason",
    "Transport",
    "TriggerContentUri",
]
