"""The daemon's side of an app's ``NotificationManager``: channels created at run time, and
``notify`` / ``cancel`` / ``get_active_notifications``.

A facet of the runtime (``runtime.notification_manager``). Created channels live in the app's
record in the store (they survive restarts and app updates, as Android's do); the manifest's
channels stay the manifest's. Whether a channel or a notification is protected because a
running user-initiated job uses it is the core's decision (``NotificationCoordinator``); this
facet hands the app's calls to the core through the runtime's ``apply``, so they are flushed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uidt.daemon.appinfo import app_info_from
from uidt.daemon.apps import InstalledApps
from uidt.errors import InvalidJobError
from uidt.job.notification import Notification
from uidt.server import events as ev
from uidt.server.service import JobSchedulerService
from uidt.store.writer import StoreWriter

#: Longest channel id and name an app may create.
MAX_CHANNEL_ID = 200
MAX_CHANNEL_NAME = 200
#: Most channels an app may create (Android caps them too, at 50 000; a few hundred is plenty).
MAX_CREATED_CHANNELS = 500


class AppNotifications:
    """The apps' ``NotificationManager`` calls (``runtime.notification_manager``).

    Args:
        apps: the installed apps (``require`` refuses an app that is not installed).
        store: where app records are kept.
        service: the core (which channels a running UIJ uses).
        apply: the runtime's ``apply``.
    """

    def __init__(
        self,
        *,
        apps: InstalledApps,
        store: StoreWriter,
        service: JobSchedulerService,
        apply: Callable[[ev.CoreEvent], None],
    ) -> None:
        self._apps = apps
        self._store = store
        self._service = service
        self._apply = apply

    # -- channels ------------------------------------------------------------------------------

    def channels(self, app: str) -> list[dict[str, Any]]:
        """The app's channels, declared and created, by id."""
        manifest = self._apps.require(app)
        found = {c.id: {"id": c.id, "name": c.name, "declared": True} for c in manifest.channels}
        record = self._store.get_app(app)
        for cid, name in (record.channels if record is not None else {}).items():
            found.setdefault(cid, {"id": cid, "name": name, "declared": False})
        return [found[cid] for cid in sorted(found)]

    def create_channel(self, app: str, channel_id: Any, name: Any) -> None:
        """``createNotificationChannel``: create it, or rename a created one (no error).

        Raises:
            InvalidJobError: the app is not installed, or the id or name is not a short line.
        """
        manifest = self._apps.require(app)
        _check_text(channel_id, "notification channel id", MAX_CHANNEL_ID)
        _check_text(name, "notification channel name", MAX_CHANNEL_NAME)
        if any(c.id == channel_id for c in manifest.channels):
            return  # declared in the manifest: it exists already
        record = self._store.get_app(app)
        assert record is not None  # require() found the app
        if channel_id not in record.channels and len(record.channels) >= MAX_CREATED_CHANNELS:
            raise InvalidJobError(
                f"too many notification channels: an app may create {MAX_CREATED_CHANNELS}"
            )
        record.channels = {**record.channels, channel_id: name}
        self._store.put_app(record)
        self._apply(ev.AppInstalled(app_info_from(manifest, record)))

    def delete_channel(self, app: str, channel_id: str) -> None:
        """``deleteNotificationChannel`` of a created channel.

        Raises:
            JobPermissionError: a running user-initiated job uses the channel (it stays).
            InvalidJobError: the app is not installed, no such channel, or the channel is
                declared in the manifest (an update of the app removes it).
        """
        manifest = self._apps.require(app)
        self._service.notification_manager.check_channel_deletable(app, channel_id)
        if any(c.id == channel_id for c in manifest.channels):
            raise InvalidJobError(
                f"notification channel {channel_id!r} is declared in the app's manifest: an "
                "update of the app without it removes it"
            )
        record = self._store.get_app(app)
        assert record is not None
        if channel_id not in record.channels:
            raise InvalidJobError(f"No such notification channel: {channel_id!r}")
        record.channels = {k: v for k, v in record.channels.items() if k != channel_id}
        self._store.put_app(record)
        self._apply(ev.AppInstalled(app_info_from(manifest, record)))

    # -- notifications -------------------------------------------------------------------------

    def notify(self, app: str, notification_id: int, notification: Notification) -> None:
        """``notify``: post or update one of the app's notifications.

        Raises:
            InvalidJobError: the app is not installed, or the channel is not one of its own.
        """
        self._apps.require(app)
        self._apply(ev.AppNotify(app, notification_id, notification))

    def cancel(self, app: str, notification_id: int) -> None:
        """``cancel``: ignored for a notification a running user-initiated job uses."""
        self._apps.require(app)
        self._apply(ev.AppCancelNotification(app, notification_id))

    def active(self, app: str) -> list[dict[str, Any]]:
        """``getActiveNotifications``: the app's notifications shown now."""
        self._apps.require(app)
        return [
            {
                "id": record.notification_id,
                "notification": record.notification,
                "job_id": None if record.job is None else record.job.job_id,
                "user_initiated_job": record.user_initiated_job,
            }
            for record in self._service.notifications.active(app)
        ]


def _check_text(value: Any, what: str, longest: int) -> None:
    if not isinstance(value, str) or not value or len(value) > longest:
        raise InvalidJobError(f"{what} must be a non-empty string of at most {longest} characters")
    if not value.isprintable():
        raise InvalidJobError(f"{what} must not contain control characters: {value!r}")
