"""Clicks on the apps' notification buttons: checked, turned into a user-interaction grant, and
handed to the app's notification receiver (``runtime.notification_actions``).

A click comes from the Task Manager page, a desktop notification (freedesktop ``ActionInvoked``)
or ``uidt notification click APP ID ACTION``; all three arrive at :meth:`NotificationActions.click`.
It refuses, with one clear error each and nothing changed, a click for an app that is not
installed, an app that declares no ``notification_receiver``, a notification the app does not
show, and an action the notification does not have. An accepted click gives the app a short
user-interaction grant (Android: a ``PendingIntent`` sent from a notification lets the app start
a user-initiated job from the background) and is delivered, like a broadcast, without waiting
for the receiver: the app's worker is started if none runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any

from uidt.daemon.apps import InstalledApps
from uidt.errors import InvalidJobError
from uidt.server.service import JobSchedulerService

log = logging.getLogger("uidt.daemon")


class ClickSource(StrEnum):
    """Where a click came from (the receiver's ``params["source"]``)."""

    WEB = "web"
    DESKTOP = "desktop"
    CLI = "cli"


class NotificationActions:
    """Checks and delivers clicks on notification actions.

    Args:
        apps: the installed apps (their manifests name the receiver).
        service: the core (the notifications shown now).
        grant: gives the app its user-interaction grant.
        deliver: starts the delivery to the app's worker (the host's ``notification_action``).
        spawn: runs the delivery on the daemon's loop.
    """

    def __init__(
        self,
        *,
        apps: InstalledApps,
        service: JobSchedulerService,
        grant: Callable[[str], None],
        deliver: Callable[..., Coroutine[Any, Any, Any]],
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
    ) -> None:
        self._apps = apps
        self._service = service
        self._grant = grant
        self._deliver = deliver
        self._spawn = spawn

    def listing(self, app: str | None = None) -> list[dict[str, Any]]:
        """The notifications shown now (of ``app``, or every app's) with their actions."""
        shown = self._service.notifications.shown
        found = []
        for (owner, nid), record in sorted(shown.items()):
            if app is not None and owner != app:
                continue
            data = record.notification
            found.append(
                {
                    "app": owner,
                    "id": nid,
                    "title": data.get("title", ""),
                    "text": data.get("text", ""),
                    "progress": data.get("progress"),
                    "channel_id": data.get("channel_id"),
                    "actions": [
                        {"id": str(action_id), "title": str(title)}
                        for action_id, title in data.get("actions", ())
                    ],
                    "job_id": None if record.job is None else record.job.job_id,
                    "namespace": None if record.job is None else record.job.namespace,
                    "user_initiated_job": record.user_initiated_job,
                }
            )
        return found

    def click(
        self, app: str, notification_id: int, action_id: str, source: ClickSource
    ) -> dict[str, Any]:
        """Check a click, grant the app, and deliver it to the app's receiver.

        Returns:
            What was clicked (``app``, ``id``, ``action``).

        Raises:
            InvalidJobError: the app is not installed or has no receiver, it shows no
                notification ``notification_id``, or that notification has no ``action_id``.
        """
        manifest = self._apps.require(app)
        if manifest.notification_receiver is None:
            raise InvalidJobError(
                f"{app} does not receive notification actions (its manifest declares no "
                "notification_receiver)"
            )
        record = self._service.notifications.shown.get((app, notification_id))
        if record is None:
            raise InvalidJobError(f"{app} shows no notification {notification_id}")
        actions = [str(a) for a, _ in record.notification.get("actions", ())]
        if action_id not in actions:
            offered = ", ".join(map(repr, actions)) or "none"
            raise InvalidJobError(
                f"notification {notification_id} of {app} has no action {action_id!r} "
                f"(its actions: {offered})"
            )
        log.info(
            "user clicked %r on notification %d of %s (%s)",
            action_id,
            notification_id,
            app,
            source,
        )
        self._grant(app)
        params = {
            "job_id": None if record.job is None else record.job.job_id,
            "namespace": None if record.job is None else record.job.namespace,
            "source": str(source),
        }
        self._spawn(self._deliver(manifest, notification_id, action_id, params))
        return {"app": app, "id": notification_id, "action": action_id}
