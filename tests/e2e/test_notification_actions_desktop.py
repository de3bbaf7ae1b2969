"""A click in a desktop notification (freedesktop ``ActionInvoked``) reaches the app's receiver
through a real daemon, on a private session bus with a fake notification server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from notify.conftest import capabilities, notification_server, session_bus  # noqa: F401
from notify.fake_server import FakeNotificationServer
from uidt import Notification, NotificationManager
from uidt.job.notification import NotificationAction

from .conftest import APPS_DIR, Daemon, read_log

CLICKER = "org.example.clicker"
WAIT_S = 20.0


async def _until(predicate: object, what: str) -> None:
    """Poll a real process's effect with a bounded deadline."""
    assert callable(predicate)
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_action_invoked_reaches_the_receiver_with_a_grant(
    notification_server: FakeNotificationServer,  # noqa: F811
    session_bus: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session_bus)
    daemon = Daemon(tmp_path)
    await asyncio.to_thread(daemon.start)
    try:
        await asyncio.to_thread(daemon.install, APPS_DIR / "clicker")
        manager = NotificationManager(CLICKER, home=tmp_path)
        note = Notification(
            "clicks", "click me", actions=[NotificationAction("schedule", "Schedule")]
        )
        await asyncio.to_thread(manager.notify, 5, note)
        seen = notification_server.recorder
        await seen.wait_until(lambda: any(c.summary == "click me" for c in seen.notify))
        call = next(c for c in seen.notify if c.summary == "click me")
        assert call.actions == ["schedule", "Schedule"]
        # an update carries the server's id back only once the daemon has read the first reply:
        # from then on it knows whose notification a click on that id is
        update = Notification(
            "clicks", "click me now", actions=[NotificationAction("schedule", "Schedule")]
        )
        await asyncio.to_thread(manager.notify, 5, update)
        await seen.wait_until(lambda: any(c.replaces_id == call.returned_id for c in seen.notify))

        notification_server.ActionInvoked(call.returned_id, "schedule")
        clicks = tmp_path / "clicks.log"
        await _until(lambda: "schedule: 1" in read_log(clicks), "the receiver to schedule")
        # the click comes first; the job it allowed starts at once, so its "ran" line may come
        # before the receiver logs the schedule's result (seen in CI under load)
        assert read_log(clicks)[0] == "click 5 schedule source=desktop job=None"
        await _until(lambda: "job 505 ran" in read_log(clicks), "the job the click allowed")
    finally:
        await asyncio.to_thread(daemon.stop)
