"""The host's event values and the queue."""

from __future__ import annotations

import pytest

from uidt.errors import InvalidJobError
from uidt.host.events import (
    Bound,
    EventQueue,
    NotificationSet,
    ProcessDied,
)
from uidt.job.notification import EndPolicy, Notification

NOTE = Notification("work", "t")


async def test_the_queue_delivers_in_order_and_can_refuse_notifications() -> None:
    def refuse(event: NotificationSet) -> None:
        raise InvalidJobError("nope")

    queue = EventQueue(check_notification=refuse)
    queue(Bound("a"))
    with pytest.raises(InvalidJobError, match="nope"):
        queue(NotificationSet("a", 1, 7, NOTE, EndPolicy.DETACH))
    queue(ProcessDied("a", 0))
    assert await queue.get() == Bound("a")
    received = []
    async for event in queue:
        received.append(event)
        break
    assert received == [ProcessDied("a", 0)]
    with pytest.raises(TimeoutError):
        await queue.get(0.01)
