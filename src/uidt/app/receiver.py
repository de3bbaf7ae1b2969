"""``NotificationActionReceiver``: where a click on one of an app's notification buttons arrives.

Android delivers a notification action's ``PendingIntent`` to the app, typically to a
``BroadcastReceiver``. In uidt the app names its receiver in its manifest
(``notification_receiver = "module:Class"``); when the user clicks a button (on the Task Manager
page, in a desktop notification, or ``uidt notification click APP ID ACTION``) the daemon starts
the app's worker if none runs and calls :meth:`NotificationActionReceiver.on_notification_action`
there. The click also gives the app a short user-interaction grant, as a ``PendingIntent`` sent
from a notification does on Android: while it lasts the app may schedule user-initiated jobs
from the background.
"""

from __future__ import annotations

from typing import Any


class NotificationActionReceiver:
    """Subclass it and name the subclass in the manifest's ``notification_receiver``.

    One instance lives in the app's worker for as long as the worker does.
    :meth:`on_notification_action` may be a plain method (it runs on a thread of the worker) or a
    coroutine (it runs on the worker's loop, beside the app's running jobs).
    """

    def on_notification_action(
        self, notification_id: int, action_id: str, params: dict[str, Any]
    ) -> Any:
        """The user clicked the button ``action_id`` of the notification ``notification_id``.

        ``params``: ``job_id`` and ``namespace`` of the job whose notification it is (``None``
        for a notification the app posted itself or one a job left behind), and ``source``
        (``"web"``, ``"desktop"`` or ``"cli"``: where the click came from).
        """
        raise NotImplementedError


def load_receiver(name: str) -> type[NotificationActionReceiver]:
    """Import ``module:Class`` and check that it is a :class:`NotificationActionReceiver`.

    Raises:
        ImportError, AttributeError, TypeError: the name does not lead to a receiver.
    """
    import importlib

    module_name, _, qualname = name.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not (isinstance(target, type) and issubclass(target, NotificationActionReceiver)):
        raise TypeError(f"{name} is not a uidt.NotificationActionReceiver subclass")
    return target
