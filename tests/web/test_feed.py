"""SnapshotFeed: refresh spacing, versions, notifications from the runtime."""

from __future__ import annotations

import asyncio

from uidt.job.notification import Notification
from uidt.store.record import NotificationRecord
from uidt.testing import FakeClock
from uidt.web.feed import SnapshotFeed

from .conftest import APP
from .fake_runtime import FakeRuntime


def test_the_runtime_is_read_at_most_once_per_interval(runtime: FakeRuntime) -> None:
    clock = FakeClock()
    feed = SnapshotFeed(runtime, clock, min_interval_ms=250)
    assert feed.refresh_if_stale()
    assert feed.version == 1
    reads = runtime.snapshots
    clock.advance(100)
    assert not feed.refresh_if_stale()
    assert runtime.snapshots == reads
    clock.advance(150)
    runtime.set_progress(APP, 1, 600)
    assert feed.refresh_if_stale()
    assert feed.version == 2
    assert runtime.snapshots == reads + 1


def test_an_unchanged_view_keeps_its_version(runtime: FakeRuntime) -> None:
    clock = FakeClock()
    feed = SnapshotFeed(runtime, clock)
    feed.refresh()
    clock.advance(10_000)  # rates settle to zero
    feed.refresh()
    version = feed.version
    clock.advance(1000)
    assert not feed.refresh()
    assert feed.version == version


def test_a_notification_forces_the_next_refresh(runtime: FakeRuntime) -> None:
    clock = FakeClock()
    feed = SnapshotFeed(runtime, clock)
    feed.refresh()
    done = Notification("c", "Download failed: 404")
    feed.sink("post", NotificationRecord(APP, 5, done.to_dict(), None, False))
    assert feed.refresh_if_stale(), "no interval wait after a notification"
    assert [n["title"] for n in feed.view["notifications"]] == ["Download failed: 404"]
    feed.sink("remove", (APP, 5))
    assert feed.refresh_if_stale()
    assert feed.view["notifications"] == []


def test_notifications_already_shown_are_read_once_from_the_runtime(runtime: FakeRuntime) -> None:
    runtime.notifications.append(
        {"app": APP, "id": 1, "title": "Done", "text": "", "progress": None,
         "user_initiated_job": False}
    )  # fmt: skip
    feed = SnapshotFeed(runtime, FakeClock())
    feed.refresh()
    assert [n["title"] for n in feed.view["notifications"]] == ["Done"]


def test_a_bad_notification_event_is_ignored(runtime: FakeRuntime) -> None:
    feed = SnapshotFeed(runtime, FakeClock())
    feed.sink("bogus", (APP, 1))
    feed.refresh()
    assert feed.view["notifications"] == []


async def test_wait_returns_when_poked_or_timed_out(runtime: FakeRuntime) -> None:
    feed = SnapshotFeed(runtime, FakeClock())
    waiting = feed.wait(30)  # listens from this call on
    feed.poke()
    await asyncio.wait_for(waiting, timeout=5)
    await feed.wait(0.001)
