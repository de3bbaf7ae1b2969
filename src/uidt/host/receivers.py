"""The app's notification receivers inside its worker: one instance per receiver class, created
on the first click, called on the worker's loop (a coroutine) or on one of its threads.

Keep this module's imports light: the worker imports it on every cold start.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from typing import Any

from uidt.app.receiver import NotificationActionReceiver, load_receiver


class Receivers:
    """The receivers of one worker.

    Args:
        executor: where a plain (non-coroutine) ``on_notification_action`` runs.
    """

    def __init__(self, executor: concurrent.futures.Executor) -> None:
        self._executor = executor
        self._instances: dict[str, NotificationActionReceiver] = {}

    async def deliver(
        self, receiver: str, notification_id: int, action_id: str, params: dict[str, Any]
    ) -> None:
        """Call ``receiver``'s ``on_notification_action`` (importing it on first use).

        Raises:
            Exception: whatever importing or calling the receiver raised (the worker logs it).
        """
        instance = self._instances.get(receiver)
        if instance is None:
            instance = load_receiver(receiver)()
            self._instances[receiver] = instance
        method = instance.on_notification_action
        args = (notification_id, action_id, dict(params))
        if inspect.iscoroutinefunction(method):
            await method(*args)
            return
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._executor, lambda: method(*args))
        if inspect.isawaitable(result):
            await result
