"""``NotificationManager``: an app's own notifications and channels (Android's
``NotificationManager``), beside the notification a job sets with ``JobService.set_notification``.

Every call is one request to the user's daemon, as :class:`~uidt.app.scheduler.JobScheduler`'s.
The platform protects a running user-initiated job's notification (Android's CTS
``NotificationTest.testUserInitiatedJobNotificationBehavior``): :meth:`NotificationManager.cancel`
of it is ignored (it stays), and :meth:`NotificationManager.delete_notification_channel` of the
channel it is on raises :class:`PermissionError` (the channel stays). For a regular job's
notification both succeed. :class:`AsyncNotificationManager` has the same methods as coroutines.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

from uidt.app.connection import DaemonConnection, app_path
from uidt.home.paths import resolve_paths
from uidt.job.notification import Notification


@dataclass(frozen=True, slots=True)
class NotificationChannel:
    """A notification channel: declared in the app's manifest, or created at run time."""

    id: str
    name: str
    #: Declared in the manifest (only an update of the app removes it).
    declared: bool = False


@dataclass(frozen=True, slots=True)
class ActiveNotification:
    """One of the app's notifications shown now (Android's ``StatusBarNotification``)."""

    id: int
    notification: Notification
    #: The job whose notification it is, ``None`` for one the app posted itself.
    job_id: int | None
    #: A running user-initiated job uses it: the app cannot cancel it.
    user_initiated_job: bool


class NotificationManager:
    """Post, update and cancel an app's notifications; create and delete its channels.

    Args:
        app: the app's package name, as in its installed manifest.
        home: the daemon's home directory (default: ``UIDT_HOME`` or the XDG locations).

    Errors: ``ValueError`` (``InvalidJobError``) for a channel that is not the app's, a bad id
    or an app that is not installed; ``PermissionError`` (``JobPermissionError``) for deleting a
    channel a running user-initiated job uses.
    """

    def __init__(
        self,
        app: str,
        *,
        home: str | os.PathLike[str] | None = None,
        _connection: DaemonConnection | None = None,
    ) -> None:
        self.app = app
        self._conn = _connection or DaemonConnection(resolve_paths(home))

    def _call(self, method: str, *path: str | int, body: Any = None) -> Any:
        return self._conn.request(method, app_path(self.app, *path), body=body)

    def notify(self, notification_id: int, notification: Notification) -> None:
        """Post the notification, or update the one shown with this id."""
        body = {"id": notification_id, "notification": notification.to_dict()}
        self._call("POST", "notifications", body=body)

    def cancel(self, notification_id: int) -> None:
        """Take the notification down (ignored while a running user-initiated job uses it)."""
        self._call("DELETE", "notifications", notification_id)

    def get_active_notifications(self) -> list[ActiveNotification]:
        """The app's notifications shown now, by id."""
        return [
            ActiveNotification(
                id=int(n["id"]),
                notification=Notification.from_dict(n["notification"]),
                job_id=n["job_id"],
                user_initiated_job=bool(n["user_initiated_job"]),
            )
            for n in self._call("GET", "notifications")["notifications"]
        ]

    def create_notification_channel(self, channel: NotificationChannel) -> None:
        """Create a channel (or rename one the app created); a declared one is left as it is."""
        self._call("POST", "channels", body={"id": channel.id, "name": channel.name})

    def delete_notification_channel(self, channel_id: str) -> None:
        """Delete a channel the app created.

        Raises:
            PermissionError: a running user-initiated job uses the channel (it stays).
            ValueError: no such channel, or it is declared in the manifest.
        """
        self._call("DELETE", "channels", channel_id)

    def get_notification_channels(self) -> list[NotificationChannel]:
        """The app's channels, declared and created, by id."""
        return [
            NotificationChannel(str(c["id"]), str(c["name"]), bool(c["declared"]))
            for c in self._call("GET", "channels")["channels"]
        ]


class AsyncNotificationManager:
    """Async twin of :class:`NotificationManager`: the same methods, as coroutines (each runs the
    blocking client in a worker thread, so an asyncio app never blocks its loop on the daemon)."""

    def __init__(
        self,
        app: str,
        *,
        home: str | os.PathLike[str] | None = None,
        _sync: NotificationManager | None = None,
    ) -> None:
        self._sync = _sync or NotificationManager(app, home=home)

    @property
    def app(self) -> str:
        return self._sync.app

    async def notify(self, notification_id: int, notification: Notification) -> None:
        await asyncio.to_thread(self._sync.notify, notification_id, notification)

    async def cancel(self, notification_id: int) -> None:
        await asyncio.to_thread(self._sync.cancel, notification_id)

    async def get_active_notifications(self) -> list[ActiveNotification]:
        return await asyncio.to_thread(self._sync.get_active_notifications)

    async def create_notification_channel(self, channel: NotificationChannel) -> None:
        await asyncio.to_thread(self._sync.create_notification_channel, channel)

    async def delete_notification_channel(self, channel_id: str) -> None:
        await asyncio.to_thread(self._sync.delete_notification_channel, channel_id)

    async def get_notification_channels(self) -> list[NotificationChannel]:
        return await asyncio.to_thread(self._sync.get_notification_channels)
