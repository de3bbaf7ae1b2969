"""The page's data feed: the runtime's jobs, read at most every ``min_interval_ms``, as a view.

Every open page (one server-sent-events stream each) shares one :class:`SnapshotFeed`, so the
runtime is read once per interval however many pages are open, and only while one is open (the
streams drive the refresh; there is no background task). A notification posted or removed by the
runtime (the feed is one of its notification sinks) wakes the streams at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable
from typing import Any

from uidt.clock import Clock
from uidt.notify.events import NotificationKey, Posted, RawPayload, parse_event
from uidt.web.protocol import TaskManagerRuntime
from uidt.web.view import RateTracker, build_view

log = logging.getLogger("uidt.web")

#: The runtime is read at most this often (milliseconds).
MIN_REFRESH_MS = 250


class SnapshotFeed:
    """The current Task Manager view and its version number.

    Args:
        runtime: the daemon's runtime (or a fake with the same members).
        clock: time source for rates and refresh spacing.
        min_interval_ms: the shortest time between two reads of the runtime.
    """

    def __init__(
        self, runtime: TaskManagerRuntime, clock: Clock, min_interval_ms: int = MIN_REFRESH_MS
    ) -> None:
        self._runtime = runtime
        self._clock = clock
        self.min_interval_ms = min_interval_ms
        self._rates = RateTracker()
        self._notifications: dict[NotificationKey, dict[str, Any]] = {}
        self._seeded = False
        self._last_refresh: int | None = None
        self._dirty = True
        self._serialized = ""
        self.view: dict[str, Any] = build_view([], [], {})
        self.version = 0
        self.signal = asyncio.Event()
        self.closed = False

    # -- inputs --------------------------------------------------------------------------------

    def sink(self, kind: str, payload: RawPayload, /) -> None:
        """A notification sink: keeps the page's notifications and wakes the streams."""
        try:
            event = parse_event(kind, payload)
        except Exception:
            log.exception("bad notification event %r", kind)
            return
        if isinstance(event, Posted):
            self._notifications[event.key] = {
                "app": event.app,
                "id": event.notification_id,
                "title": event.title,
                "text": event.text,
                "progress": event.progress,
                "actions": [[a.action_id, a.title] for a in event.actions],
                "user_initiated_job": event.user_initiated_job,
            }
        else:
            self._notifications.pop(event.key, None)
        self.poke()

    def poke(self) -> None:
        """Something changed: the next refresh reads the runtime whatever the interval."""
        self._dirty = True
        signal, self.signal = self.signal, asyncio.Event()
        signal.set()

    def close(self) -> None:
        """End every stream."""
        self.closed = True
        self.poke()

    # -- refresh -------------------------------------------------------------------------------

    def refresh_if_stale(self) -> bool:
        """Refresh when poked or when the interval has passed; return whether the view changed."""
        now = self._clock.elapsed()
        if (
            not self._dirty
            and self._last_refresh is not None
            and now - self._last_refresh < self.min_interval_ms
        ):
            return False
        return self.refresh()

    def refresh(self) -> bool:
        """Read the runtime now; bump :attr:`version` when the view changed."""
        self._dirty = False
        now = self._clock.elapsed()
        self._last_refresh = now
        if not self._seeded:
            self._seed_notifications()
        jobs = self._runtime.jobs_snapshot(None, include_finished=True)
        rates = self._rates.update(jobs, now)
        fleet = self._runtime.fleet.others()
        view = build_view(jobs, list(self._notifications.values()), rates, fleet)
        serialized = json.dumps(view, sort_keys=True, default=str)
        if serialized == self._serialized:
            return False
        self._serialized = serialized
        self.view = view
        self.version += 1
        return True

    def _seed_notifications(self) -> None:
        self._seeded = True
        try:
            shown = self._runtime.dump().get("notifications", [])
        except Exception:
            log.exception("reading the runtime's notifications failed")
            return
        for note in shown:
            key = (str(note["app"]), int(note["id"]))
            self._notifications.setdefault(key, dict(note))

    def wait(self, timeout_s: float) -> Awaitable[None]:
        """Wait until poked (after this call) or until ``timeout_s`` has passed."""
        return _wait(self.signal, timeout_s)


async def _wait(signal: asyncio.Event, timeout_s: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(signal.wait(), timeout=timeout_s)
