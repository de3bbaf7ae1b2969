"""Facts the app host reports, as values, and a queue to receive them.

:class:`~uidt.host.apphost.AppHost` produces :data:`HostEvent` values and hands each to a *sink*
(a plain callable). The values are the scheduler core's own input events
(:mod:`uidt.server.events`, re-exported here): the daemon's runtime hands them unchanged to
``JobSchedulerService.handle``. :class:`EventQueue` collects them for ``async for`` (tests,
tools). A sink may refuse a :class:`NotificationSet` by raising
:class:`~uidt.errors.InvalidJobError`: the message goes back to the app, where
``set_notification`` raises it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from uidt.server.events import (
    BindFailed,
    Bound,
    BytesEstimated,
    BytesTransferred,
    Finished,
    HostEvent,
    JobCrashed,
    NetworkChangeHandled,
    NotificationSet,
    Pong,
    ProcessDied,
    StartResult,
    StopResult,
)

__all__ = [
    "BindFailed",
    "Bound",
    "BytesEstimated",
    "BytesTransferred",
    "EventQueue",
    "EventSink",
    "Finished",
    "HostEvent",
    "JobCrashed",
    "NetworkChangeHandled",
    "NotificationSet",
    "Pong",
    "ProcessDied",
    "StartResult",
    "StopResult",
]

EventSink = Callable[[HostEvent], None]


class EventQueue:
    """An event sink that queues events for ``async for`` / :meth:`get`.

    Args:
        check_notification: called for each :class:`NotificationSet`; raising
            ``InvalidJobError`` refuses it (the app's ``set_notification`` raises).
    """

    def __init__(self, check_notification: Callable[[NotificationSet], None] | None = None) -> None:
        self.check_notification = check_notification
        self.queue: asyncio.Queue[HostEvent] = asyncio.Queue()

    def __call__(self, event: HostEvent) -> None:
        if isinstance(event, NotificationSet) and self.check_notification is not None:
            self.check_notification(event)
        self.queue.put_nowait(event)

    async def get(self, within_s: float = 10.0) -> HostEvent:
        """The next event.

        Raises:
            TimeoutError: none came within ``within_s`` seconds.
        """
        return await asyncio.wait_for(self.queue.get(), within_s)

    async def __aiter__(self) -> AsyncIterator[HostEvent]:
        while True:
            yield await self.queue.get()
