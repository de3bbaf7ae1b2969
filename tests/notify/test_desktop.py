"""DesktopNotifier against a fake notification server on a private session bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from uidt.job.key import JobKey
from uidt.job.notification import Notification, NotificationAction
from uidt.notify.desktop import DesktopNotifier
from uidt.store.record import NotificationRecord

from .fake_server import FakeNotificationServer

APP = "org.example.photos"


def record(
    progress: float | None = 0.25,
    *,
    title: str = "Downloading holiday.mp4",
    text: str = "25 MiB of 100 MiB",
    user_initiated_job: bool = True,
    notification_id: int = 7,
    actions: tuple[NotificationAction, ...] = (),
) -> NotificationRecord:
    note = Notification("transfers", title, text, progress=progress, actions=actions)
    return NotificationRecord(
        app=APP,
        notification_id=notification_id,
        notification=note.to_dict(),
        job=JobKey(APP, None, 1),
        user_initiated_job=user_initiated_job,
    )


class ActionLog:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, str]] = []
        self.event = asyncio.Event()

    def __call__(self, app: str, notification_id: int, action_id: str) -> None:
        self.calls.append((app, notification_id, action_id))
        self.event.set()


@pytest.fixture
def actions() -> ActionLog:
    return ActionLog()


@pytest.fixture
async def notifier(
    session_bus: str, notification_server: FakeNotificationServer, actions: ActionLog
) -> AsyncIterator[DesktopNotifier]:
    found = await DesktopNotifier.connect(session_bus, on_action=actions, min_interval_ms=200)
    assert found is not None
    task = asyncio.create_task(found.run())
    try:
        yield found
    finally:
        await found.aclose()
        await task


async def test_no_session_bus_means_no_notifier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    assert await DesktopNotifier.connect() is None


async def test_a_bus_without_a_notification_server_means_no_notifier(session_bus: str) -> None:
    assert await DesktopNotifier.connect(session_bus) is None


async def test_an_unreachable_bus_means_no_notifier(tmp_path: object) -> None:
    assert await DesktopNotifier.connect(f"unix:path={tmp_path}/missing", timeout_s=1) is None


async def test_server_information_and_capabilities_are_read(
    notifier: DesktopNotifier,
) -> None:
    assert notifier.server.name == "fake-notifications"
    assert "actions" in notifier.server.capabilities


async def test_post_shows_progress_then_updates_in_place_and_remove_closes_it(
    notifier: DesktopNotifier, notification_server: FakeNotificationServer
) -> None:
    seen = notification_server.recorder
    notifier("post", record(0.25))
    await seen.wait_until(lambda: len(seen.notify) == 1)
    first = seen.notify[0]
    assert (first.app_name, first.summary, first.body) == (
        APP,
        "Downloading holiday.mp4",
        "25 MiB of 100 MiB",
    )
    assert first.replaces_id == 0
    assert first.value == 25
    assert first.expire_timeout == 0, "an ongoing job's notification never expires"
    assert first.hints["resident"] is True

    notifier("post", record(0.5, text="50 MiB of 100 MiB"))
    await seen.wait_until(lambda: len(seen.notify) == 2)
    second = seen.notify[1]
    assert second.replaces_id == first.returned_id, "an update replaces in place"
    assert second.value == 50
    assert list(seen.open) == [first.returned_id]
    assert notifier.shown == {(APP, 7): first.returned_id}

    notifier("remove", (APP, 7))
    await seen.wait_until(lambda: bool(seen.closed))
    assert seen.closed == [first.returned_id]
    assert seen.open == {}, "the remove really closed it on the desktop"
    assert notifier.shown == {}


async def test_updates_are_rate_limited_and_the_last_one_is_shown(
    notifier: DesktopNotifier, notification_server: FakeNotificationServer
) -> None:
    seen = notification_server.recorder
    for percent in range(1, 101):  # one synchronous burst: far inside the 200 ms interval
        notifier("post", record(percent / 100))
    await seen.wait_until(lambda: any(c.value == 100 for c in seen.notify))
    assert [c.value for c in seen.notify] == [1, 100]


async def test_a_remove_drops_a_held_update(
    notifier: DesktopNotifier, notification_server: FakeNotificationServer
) -> None:
    seen = notification_server.recorder
    notifier("post", record(0.1))
    notifier("post", record(0.2))  # held by the rate limit
    notifier("remove", (APP, 7))  # a USER stop: always removes, at once
    await seen.wait_until(lambda: bool(seen.closed))
    assert [c.value for c in seen.notify] == [10]
    assert seen.open == {}


async def test_detached_notification_stays_until_dismissed(
    notifier: DesktopNotifier, notification_server: FakeNotificationServer
) -> None:
    seen = notification_server.recorder
    notifier("post", record(0.9))
    await seen.wait_until(lambda: len(seen.notify) == 1)
    # DETACH end policy: the core posts it again without the user-initiated-job flag.
    notifier(
        "post", record(None, title="Downloaded holiday.mp4", text="", user_initiated_job=False)
    )
    await seen.wait_until(lambda: len(seen.notify) == 2)
    final = seen.notify[1]
    assert final.replaces_id == seen.notify[0].returned_id
    assert final.summary == "Downloaded holiday.mp4"
    assert final.value is None
    assert final.expire_timeout == 0, "a final notification (e.g. 'failed') never expires"
    assert "resident" not in final.hints  # the user may dismiss it
    assert seen.closed == []


async def test_actions_are_sent_and_clicks_come_back(
    notifier: DesktopNotifier,
    notification_server: FakeNotificationServer,
    actions: ActionLog,
) -> None:
    seen = notification_server.recorder
    notifier("post", record(actions=(NotificationAction("pause", "Pause"),)))
    await asyncio.wait_for(notifier.wait_delivered(), timeout=5)
    assert seen.notify[0].actions == ["pause", "Pause"]

    notification_server.ActionInvoked(seen.notify[0].returned_id, "pause")
    await asyncio.wait_for(actions.event.wait(), timeout=5)
    assert actions.calls == [(APP, 7, "pause")]


async def test_clicks_on_unknown_notifications_are_ignored(
    notifier: DesktopNotifier,
    notification_server: FakeNotificationServer,
    actions: ActionLog,
) -> None:
    seen = notification_server.recorder
    notifier("post", record())
    await asyncio.wait_for(notifier.wait_delivered(), timeout=5)
    notification_server.ActionInvoked(999, "pause")
    notification_server.ActionInvoked(seen.notify[0].returned_id, "open")
    await asyncio.wait_for(actions.event.wait(), timeout=5)
    assert actions.calls == [(APP, 7, "open")]


async def test_markup_in_the_text_is_escaped(
    notifier: DesktopNotifier, notification_server: FakeNotificationServer
) -> None:
    seen = notification_server.recorder
    notifier("post", record(text="<b>a & b</b>"))
    await seen.wait_until(lambda: len(seen.notify) == 1)
    assert seen.notify[0].body == "&lt;b&gt;a &amp; b&lt;/b&gt;"


async def test_a_dismissed_notification_is_not_shown_again_until_its_job_ends(
    session_bus: str, notification_server: FakeNotificationServer
) -> None:
    seen = notification_server.recorder
    notifier = await DesktopNotifier.connect(session_bus, min_interval_ms=0)
    assert notifier is not None
    task = asyncio.create_task(notifier.run())
    try:
        notifier("post", record(0.1))
        await asyncio.wait_for(notifier.wait_delivered(), timeout=5)
        notification_server.dismiss(seen.notify[0].returned_id)
        # The server sends the NotificationClosed signal before it answers the next Notify, so
        # once the marker's reply is in, the notifier knows about the dismissal.
        notifier("post", record(0.5, notification_id=8))
        notifier("post", record(0.95))  # still running: stays hidden
        notifier("post", record(None, title="Downloaded", user_initiated_job=False))
        await seen.wait_until(lambda: len(seen.notify) == 3)
        assert [c.summary for c in seen.notify][1:] == ["Downloading holiday.mp4", "Downloaded"]
        assert seen.notify[1].value == 50
        assert seen.notify[2].replaces_id == 0
    finally:
        await notifier.aclose()
        await task


async def test_close_delivers_the_held_update(
    session_bus: str, notification_server: FakeNotificationServer
) -> None:
    seen = notification_server.recorder
    notifier = await DesktopNotifier.connect(session_bus, min_interval_ms=60_000)
    assert notifier is not None
    task = asyncio.create_task(notifier.run())
    notifier("post", record(0.1))
    notifier("post", record(0.6))  # held for a minute
    await seen.wait_until(lambda: len(seen.notify) == 1)
    await notifier.aclose()
    await task
    assert [c.value for c in seen.notify] == [10, 60]


async def test_a_bad_event_is_logged_not_raised(notifier: DesktopNotifier) -> None:
    notifier("bogus", (APP, 1))


class TestWithoutActionsCapability:
    @pytest.fixture
    def capabilities(self) -> list[str]:
        return ["body"]

    async def test_actions_are_left_out_and_text_is_not_escaped(
        self, notifier: DesktopNotifier, notification_server: FakeNotificationServer
    ) -> None:
        seen = notification_server.recorder
        notifier("post", record(text="a & b", actions=(NotificationAction("pause", "Pause"),)))
        await seen.wait_until(lambda: len(seen.notify) == 1)
        assert seen.notify[0].actions == []
        assert seen.notify[0].body == "a & b"
