"""Rate limiting of notification updates, per notification.

A running transfer may post its notification hundreds of times a second. A sink shows at most one
update per ``min_interval_ms`` for each notification: the first post goes through at once, later
ones within the interval are coalesced into the newest, which is delivered when the interval has
passed (so the final state is always shown). A removal always goes through at once and drops any
held update of that notification.

:class:`UpdateThrottle` is the pure decision (times are passed in); :class:`Outbox` runs it on an
asyncio loop and hands events, in order, to a delivery coroutine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from uidt.clock import Clock
from uidt.notify.events import NotificationEvent, NotificationKey, Posted, Removed

log = logging.getLogger("uidt.notify")

#: At most four updates per second per notification.
DEFAULT_MIN_INTERVAL_MS = 250


class UpdateThrottle:
    """Decides which notification events to deliver now and which to hold.

    Args:
        min_interval_ms: the shortest time between two deliveries of the same notification.
    """

    def __init__(self, min_interval_ms: int = DEFAULT_MIN_INTERVAL_MS) -> None:
        if min_interval_ms < 0:
            raise ValueError("min_interval_ms must not be negative")
        self.min_interval_ms = min_interval_ms
        self._last_delivery: dict[NotificationKey, int] = {}
        self._held: dict[NotificationKey, Posted] = {}

    def offer(self, event: NotificationEvent, now_ms: int) -> NotificationEvent | None:
        """Return the event if it is to be delivered now, else hold it (replacing an older one)."""
        key = event.key
        if isinstance(event, Removed):
            self._held.pop(key, None)
            self._last_delivery.pop(key, None)
            return event
        last = self._last_delivery.get(key)
        if last is None or now_ms - last >= self.min_interval_ms:
            self._held.pop(key, None)
            self._last_delivery[key] = now_ms
            return event
        self._held[key] = event
        return None

    def next_due(self) -> int | None:
        """When the earliest held update may be delivered, or ``None`` when nothing is held."""
        if not self._held:
            return None
        return min(self._last_delivery[key] + self.min_interval_ms for key in self._held)

    def take_due(self, now_ms: int) -> list[Posted]:
        """Release the held updates whose interval has passed."""
        due = [
            key for key in self._held if now_ms - self._last_delivery[key] >= self.min_interval_ms
        ]
        released = []
        for key in due:
            released.append(self._held.pop(key))
            self._last_delivery[key] = now_ms
        return released

    def take_all(self) -> list[Posted]:
        """Release every held update regardless of time (used when closing)."""
        released = list(self._held.values())
        self._held.clear()
        return released

    @property
    def held(self) -> int:
        """How many notifications have an update waiting."""
        return len(self._held)


Deliver = Callable[[NotificationEvent], Awaitable[None]]


class Outbox:
    """A throttled, ordered queue of notification events drained by :meth:`run`.

    :meth:`put` is synchronous (a sink calls it on the event loop); :meth:`run` delivers events
    one at a time until :meth:`close`, after which it delivers what is held and returns.

    Args:
        clock: the time source for the throttle.
        min_interval_ms: see :class:`UpdateThrottle`.
    """

    def __init__(self, clock: Clock, min_interval_ms: int = DEFAULT_MIN_INTERVAL_MS) -> None:
        self._clock = clock
        self._throttle = UpdateThrottle(min_interval_ms)
        self._ready: deque[NotificationEvent] = deque()
        self._wake = asyncio.Event()
        self._delivered = asyncio.Event()
        self._delivered.set()
        self._closed = False

    def put(self, event: NotificationEvent) -> None:
        """Queue an event; it is delivered now or, if throttled, once its interval has passed."""
        if self._closed:
            return
        out = self._throttle.offer(event, self._clock.elapsed())
        if out is not None:
            self._ready.append(out)
            self._delivered.clear()
        self._wake.set()

    def close(self) -> None:
        """Stop accepting events; :meth:`run` delivers the held ones and returns."""
        if not self._closed:
            self._closed = True
            self._ready.extend(self._throttle.take_all())
            self._wake.set()

    async def wait_delivered(self) -> None:
        """Wait until every event due so far has been delivered (held updates do not count)."""
        await self._delivered.wait()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    async def run(self, deliver: Deliver) -> None:
        """Deliver events in order until closed. A failing delivery is logged and skipped."""
        while True:
            released = self._throttle.take_due(self._clock.elapsed())
            if released:
                self._ready.extend(released)
                self._delivered.clear()
            while self._ready:
                event = self._ready.popleft()
                try:
                    await deliver(event)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("delivering %r failed", event)
            self._delivered.set()
            if self._closed:
                return
            due = self._throttle.next_due()
            self._wake.clear()
            if due is None:
                await self._wake.wait()
                continue
            delay_s = max(0, due - self._clock.elapsed()) / 1000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay_s)
