"""UpdateThrottle decisions (pure, explicit times) and the Outbox on a real loop."""

from __future__ import annotations

import asyncio

import pytest

from uidt.clock import SystemClock
from uidt.notify.events import NotificationEvent, Posted, Removed
from uidt.notify.ratelimit import Outbox, UpdateThrottle


def post(progress: float, notification_id: int = 1, app: str = "a") -> Posted:
    return Posted(app, notification_id, "t", "", progress, True, (), True)


def test_first_post_goes_through_and_later_ones_within_the_interval_are_held() -> None:
    throttle = UpdateThrottle(250)
    assert throttle.offer(post(0.1), 1000) == post(0.1)
    assert throttle.offer(post(0.2), 1100) is None
    assert throttle.offer(post(0.3), 1200) is None
    assert throttle.held == 1
    assert throttle.next_due() == 1250
    assert throttle.take_due(1249) == []
    assert throttle.take_due(1250) == [post(0.3)], "the newest held update wins"
    assert throttle.next_due() is None


def test_a_post_after_the_interval_goes_through_at_once() -> None:
    throttle = UpdateThrottle(250)
    throttle.offer(post(0.1), 1000)
    assert throttle.offer(post(0.2), 1250) == post(0.2)
    assert throttle.offer(post(0.3), 1300) is None
    assert throttle.next_due() == 1500


def test_notifications_are_limited_independently() -> None:
    throttle = UpdateThrottle(250)
    assert throttle.offer(post(0.1, 1), 1000) is not None
    assert throttle.offer(post(0.1, 2), 1010) is not None
    assert throttle.offer(post(0.1, 1, app="b"), 1020) is not None
    assert throttle.offer(post(0.2, 2), 1100) is None
    assert throttle.take_due(1260) == [post(0.2, 2)]


def test_a_remove_always_goes_through_and_drops_the_held_update() -> None:
    throttle = UpdateThrottle(250)
    throttle.offer(post(0.1), 1000)
    throttle.offer(post(0.2), 1001)
    assert throttle.offer(Removed("a", 1), 1002) == Removed("a", 1)
    assert throttle.held == 0
    assert throttle.offer(post(0.5), 1003) == post(0.5), "a new post after a remove is shown"


def test_take_all_releases_everything_held() -> None:
    throttle = UpdateThrottle(1000)
    throttle.offer(post(0.1, 1), 0)
    throttle.offer(post(0.2, 1), 1)
    throttle.offer(post(0.1, 2), 2)
    throttle.offer(post(0.3, 2), 3)
    assert sorted(p.progress or 0 for p in throttle.take_all()) == [0.2, 0.3]


def test_negative_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        UpdateThrottle(-1)


class Collector:
    def __init__(self, fail_on: float | None = None) -> None:
        self.events: list[NotificationEvent] = []
        self.fail_on = fail_on
        self.changed = asyncio.Event()

    async def __call__(self, event: NotificationEvent) -> None:
        if isinstance(event, Posted) and event.progress == self.fail_on:
            raise RuntimeError("delivery failed")
        self.events.append(event)
        self.changed.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.events) < count:
                self.changed.clear()
                await self.changed.wait()


async def test_outbox_delivers_first_and_last_of_a_burst_in_order() -> None:
    outbox = Outbox(SystemClock(), min_interval_ms=100)
    sink = Collector()
    task = asyncio.create_task(outbox.run(sink))
    for i in range(1, 11):  # a synchronous burst, far inside the interval
        outbox.put(post(i / 10))
    outbox.put(post(0.5, notification_id=2))
    await sink.wait_for(3)
    assert sink.events == [post(0.1), post(0.5, 2), post(1.0)]
    outbox.close()
    await task


async def test_outbox_close_flushes_held_updates_and_ignores_later_puts() -> None:
    outbox = Outbox(SystemClock(), min_interval_ms=60_000)
    sink = Collector()
    outbox.put(post(0.1))
    outbox.put(post(0.9))
    outbox.close()
    outbox.put(post(1.0))
    await asyncio.wait_for(outbox.run(sink), timeout=5)
    assert sink.events == [post(0.1), post(0.9)]
    assert outbox.closed


async def test_a_failed_delivery_is_logged_and_the_next_event_still_goes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox = Outbox(SystemClock(), min_interval_ms=0)
    sink = Collector(fail_on=0.1)
    task = asyncio.create_task(outbox.run(sink))
    outbox.put(post(0.1))
    outbox.put(post(0.2))
    await sink.wait_for(1)
    await asyncio.wait_for(outbox.wait_delivered(), timeout=5)
    assert sink.events == [post(0.2)]
    assert "delivering" in caplog.text
    outbox.close()
    await task
