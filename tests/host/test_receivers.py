"""The worker's notification receivers: imported once, sync or async, and a wrong class refused."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from uidt.app.receiver import NotificationActionReceiver
from uidt.host.receivers import Receivers

CALLS: list[tuple[str, int, str, dict[str, Any]]] = []


class SyncReceiver(NotificationActionReceiver):
    created = 0

    def __init__(self) -> None:
        SyncReceiver.created += 1

    def on_notification_action(
        self, notification_id: int, action_id: str, params: dict[str, Any]
    ) -> None:
        CALLS.append((threading.current_thread().name, notification_id, action_id, params))


class AsyncReceiver(NotificationActionReceiver):
    async def on_notification_action(
        self, notification_id: int, action_id: str, params: dict[str, Any]
    ) -> None:
        CALLS.append((threading.current_thread().name, notification_id, action_id, params))


class NotAReceiver:
    pass


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    CALLS.clear()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pool") as pool:
        yield Receivers(pool)


async def test_a_plain_receiver_runs_on_a_thread_and_is_created_once(receivers: Receivers) -> None:
    before = SyncReceiver.created
    name = f"{__name__}:SyncReceiver"
    await receivers.deliver(name, 1, "pause", {"source": "cli"})
    await receivers.deliver(name, 2, "resume", {})
    assert SyncReceiver.created == before + 1
    assert [(c[1], c[2], c[3]) for c in CALLS] == [
        (1, "pause", {"source": "cli"}),
        (2, "resume", {}),
    ]
    assert all(c[0].startswith("pool") for c in CALLS)


async def test_a_coroutine_receiver_runs_on_the_loop(receivers: Receivers) -> None:
    await receivers.deliver(f"{__name__}:AsyncReceiver", 3, "go", {})
    assert [(threading.current_thread().name, 3, "go", {})] == CALLS


async def test_a_class_that_is_not_a_receiver_is_refused(receivers: Receivers) -> None:
    with pytest.raises(TypeError, match=r"not a uidt\.NotificationActionReceiver"):
        await receivers.deliver(f"{__name__}:NotAReceiver", 1, "go", {})
    with pytest.raises(ModuleNotFoundError):
        await receivers.deliver("no_such_module_here:X", 1, "go", {})
    assert CALLS == []
