"""Notification sinks: where the notifications of running jobs are shown.

The daemon's runtime hands every post and remove to each sink in ``runtime.notification_sinks``:
:class:`DesktopNotifier` (freedesktop notifications over the session D-Bus, when a server answers),
:class:`TerminalNotifier` (one line per change), and the Task Manager web page (``uidt.web``).
End policies (DETACH/REMOVE, a USER stop always removes) are decided by the core; sinks show
what they are told, rate-limited per notification (:mod:`uidt.notify.ratelimit`).
"""

from __future__ import annotations

from uidt.notify.desktop import DesktopNotifier, ServerInfo
from uidt.notify.events import (
    NotificationEvent,
    NotificationKey,
    NotificationSink,
    Posted,
    Removed,
    parse_event,
)
from uidt.notify.ratelimit import Outbox, UpdateThrottle
from uidt.notify.terminal import TerminalNotifier, format_notification, watch_jobs

__all__ = [
    "DesktopNotifier",
    "NotificationEvent",
    "NotificationKey",
    "NotificationSink",
    "Outbox",
    "Posted",
    "Removed",
    "ServerInfo",
    "TerminalNotifier",
    "UpdateThrottle",
    "format_notification",
    "parse_event",
    "watch_jobs",
]
