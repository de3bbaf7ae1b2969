"""Value types shared by apps and the system (Android's ``android.app.job``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.lazy import lazy_attributes

if TYPE_CHECKING:
    from uidt.job.info import JobInfo
    from uidt.job.network import NetCapability, NetworkRequest, NetworkType, Transport
    from uidt.job.notification import EndPolicy, Notification, NotificationAction
    from uidt.job.params import JobParameters
    from uidt.job.priority import BackoffPolicy, Priority
    from uidt.job.reasons import InternalStopReason, PendingReason, StopReason
    from uidt.job.trigger import TriggerContentUri
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

#: Where each public name lives. They are imported on first use: an app worker needs only
#: ``params``, ``reasons`` and ``notification``, not ``JobInfo`` and its validation.
__getattr__ = lazy_attributes(
    __name__,
    {
        "JobInfo": "uidt.job.info",
        "TriggerContentUri": "uidt.job.trigger",
        "NetCapability": "uidt.job.network",
        "NetworkRequest": "uidt.job.network",
        "NetworkType": "uidt.job.network",
        "Transport": "uidt.job.network",
        "EndPolicy": "uidt.job.notification",
        "Notification": "uidt.job.notification",
        "NotificationAction": "uidt.job.notification",
        "JobParameters": "uidt.job.params",
        "BackoffPolicy": "uidt.job.priority",
        "Priority": "uidt.job.priority",
        "InternalStopReason": "uidt.job.reasons",
        "PendingReason": "uidt.job.reasons",
        "StopReason": "uidt.job.reasons",
        "JobWorkItem": "uidt.job.work",
    },
)
