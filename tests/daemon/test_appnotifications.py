"""The daemon's side of the apps' NotificationManager (``runtime.notification_manager``):
channels created and deleted at run time (kept in the app record), notify / cancel / active."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from uidt.daemon.runtime import Runtime
from uidt.device.fake import FakeDeviceSource
from uidt.errors import InvalidJobError
from uidt.job import Notification
from uidt.packages.manifest import load_manifest
from uidt.server import JobSchedulerService
from uidt.settings import Settings
from uidt.store.memory import MemoryJobStore
from uidt.testing import FakeClock

MANIFEST = Path(__file__).parents[1] / "host" / "apps" / "hosttest" / "uidt.toml"
APP = "org.test.host"


class QuietHost:
    async def bind(self, manifest: Any) -> None:
        pass

    async def kill(self, app: str) -> None:
        pass

    async def unbind(self, app: str) -> None:
        pass


def _runtime(store: MemoryJobStore) -> Runtime:
    clock = FakeClock()
    device = FakeDeviceSource()
    service = JobSchedulerService(
        clock=clock, settings=Settings(), device=device.snapshot(), installed_memory_bytes=8 << 30
    )
    runtime = Runtime(service=service, store=store, host=QuietHost(), device=device, clock=clock)
    runtime.load()
    return runtime


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    runtime = _runtime(MemoryJobStore())
    runtime.apps.install(load_manifest(MANIFEST))
    try:
        yield runtime
    finally:
        runtime.store.close()


def test_a_created_channel_is_usable_listed_and_survives_a_restart_and_an_update() -> None:
    store = MemoryJobStore()
    runtime = _runtime(store)
    runtime.apps.install(load_manifest(MANIFEST))
    manager = runtime.notification_manager
    manager.create_channel(APP, "later", "Later")
    assert manager.channels(APP) == [
        {"id": "later", "name": "Later", "declared": False},
        {"id": "work", "name": "Work", "declared": True},
    ]
    manager.notify(APP, 4, Notification("later", "Hi"))
    (active,) = manager.active(APP)
    assert (active["id"], active["notification"]["title"], active["job_id"]) == (4, "Hi", None)
    runtime.apps.install(load_manifest(MANIFEST))  # an update keeps created channels
    runtime.store.flush()
    again = _runtime(store)
    assert "later" in again.service.notification_manager.usable_channels(APP)
    again.store.close()
    runtime.store.close()


def test_notify_on_an_unknown_channel_is_one_clear_error(runtime: Runtime) -> None:
    with pytest.raises(InvalidJobError, match="invalid notification channel: 'nope'"):
        runtime.notification_manager.notify(APP, 1, Notification("nope", "Hi"))
    assert runtime.notification_manager.active(APP) == []
    assert runtime.store.store.notifications() == []  # type: ignore[attr-defined]


def test_cancel_removes(runtime: Runtime) -> None:
    manager = runtime.notification_manager
    manager.notify(APP, 1, Notification("work", "Hi"))
    manager.cancel(APP, 1)
    assert manager.active(APP) == []


def test_deleting_a_created_channel(runtime: Runtime) -> None:
    manager = runtime.notification_manager
    manager.create_channel(APP, "later", "Later")
    manager.delete_channel(APP, "later")
    assert [c["id"] for c in manager.channels(APP)] == ["work"]
    with pytest.raises(InvalidJobError, match="invalid notification channel"):
        manager.notify(APP, 1, Notification("later", "Hi"))


@pytest.mark.parametrize(
    ("channel", "error", "match"),
    [
        ("nope", InvalidJobError, "No such notification channel: 'nope'"),
        ("work", InvalidJobError, "declared in the app's manifest"),
    ],
)
def test_deleting_what_cannot_be_deleted_changes_nothing(
    runtime: Runtime, channel: str, error: type[Exception], match: str
) -> None:
    manager = runtime.notification_manager
    before = manager.channels(APP)
    with pytest.raises(error, match=match):
        manager.delete_channel(APP, channel)
    assert manager.channels(APP) == before


@pytest.mark.parametrize(
    ("cid", "name"),
    [("", "x"), ("a" * 201, "x"), ("ok", ""), ("ok", 7), (7, "x"), ("bad\nid", "x")],
)
def test_bad_channels_are_refused(runtime: Runtime, cid: Any, name: Any) -> None:
    manager = runtime.notification_manager
    before = manager.channels(APP)
    with pytest.raises(InvalidJobError, match="channel"):
        manager.create_channel(APP, cid, name)
    assert manager.channels(APP) == before


def test_verbs_on_an_app_that_is_not_installed(runtime: Runtime) -> None:
    manager = runtime.notification_manager
    for call in (
        lambda: manager.create_channel("org.other", "x", "X"),
        lambda: manager.delete_channel("org.other", "x"),
        lambda: manager.notify("org.other", 1, Notification("x", "X")),
        lambda: manager.cancel("org.other", 1),
        lambda: manager.active("org.other"),
    ):
        with pytest.raises(InvalidJobError, match="No such app"):
            call()
