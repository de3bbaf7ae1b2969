"""``NotificationManagerService``: the apps' own ``NotificationManager`` calls, on one core
(``service.notification_manager``), with Android's protections of a running user-initiated job's
notification and channel (docs/android-semantics.md).

The notifications themselves, and which runs use them, are the ``NotificationCoordinator``'s
(server/notifications.py); this facet adds what it needs of the app registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.errors import InvalidJobError
from uidt.job.notification import Notification

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore


def usable_channels(core: SchedulerCore, app: str) -> frozenset[str]:
    """The app's channels (declared or created), and any a running UIJ still uses after an
    update dropped it (a channel stays until no UIJ uses it)."""
    info = core.registry.get(app)
    declared = info.channels if info is not None else frozenset()
    return declared | core.notifications.uij_channels(app)


class NotificationManagerService:
    """The apps' ``notify`` / ``cancel`` and the channel checks, on one core."""

    def __init__(self, core: SchedulerCore) -> None:
        self._core = core

    def usable_channels(self, app: str) -> frozenset[str]:
        """See :func:`usable_channels`."""
        return usable_channels(self._core, app)

    def notify(self, app: str, notification_id: int, notification: Notification) -> None:
        """``NotificationManager.notify`` of an installed app.

        Raises:
            InvalidJobError: the app is not installed, or the channel is not one of its own.
        """
        core = self._core
        if app not in core.registry:
            raise InvalidJobError(f"No such app: {app}")
        channels = usable_channels(core, app)
        for action in core.notifications.post_for_app(
            app, notification_id, notification, channels, core.utc_ms()
        ):
            core.emit(action)

    def cancel(self, app: str, notification_id: int) -> bool:
        """``NotificationManager.cancel``: ``False`` when nothing was removed (none shown, or a
        running user-initiated job uses it)."""
        removed, actions = self._core.notifications.cancel_for_app(app, notification_id)
        for action in actions:
            self._core.emit(action)
        return removed

    def check_channel_deletable(self, app: str, channel_id: str) -> None:
        """``deleteNotificationChannel`` is allowed.

        Raises:
            JobPermissionError: a running user-initiated job uses the channel.
        """
        self._core.notifications.check_channel_deletable(app, channel_id)
