"""Event values, the listener adapter, and the queue."""

from __future__ import annotations

from typing import Any

import pytest

from uidt.errors import InvalidJobError
from uidt.host.events import (
    BindFailed,
    Bound,
    BytesEstimated,
    BytesTransferred,
    EventQueue,
    Finished,
    JobCrashed,
    ListenerSink,
    NotificationSet,
    Pong,
    ProcessDied,
    StartResult,
    StopResult,
)
from uidt.job.notification import EndPolicy, Notification

NOTE = Notification("work", "t")


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("on_"):
            raise AttributeError(name)
        return lambda *args: self.calls.append((name, *args))


def test_listener_sink_calls_the_matching_method() -> None:
    recorder = Recorder()
    sink = ListenerSink(recorder)  # type: ignore[arg-type]
    for event in [
        Bound("a"),
        BindFailed("a", "no python"),
        StartResult("a", 1, True),
        StopResult("a", 1, False),
        Finished("a", 1, True),
        Finished("a", 2, False, "HTTP 404"),
        NotificationSet("a", 1, 7, NOTE, EndPolicy.REMOVE),
        BytesEstimated("a", 1, 10, -1),
        BytesTransferred("a", 1, 5, 0),
        JobCrashed("a", 1, "on_start_job", "Traceback", "ValueError", "bad"),
        Pong("a", 3),
        ProcessDied("a", -9),
    ]:
        sink(event)
    assert recorder.calls == [
        ("on_bound", "a"),
        ("on_bind_failed", "a"),
        ("on_start_job_result", 1, True),
        ("on_stop_job_result", 1, False),
        ("on_job_finished", 1, True),
        ("on_job_failed", 2, "HTTP 404"),
        ("on_set_notification", 1, 7, NOTE, EndPolicy.REMOVE),
        ("on_update_estimated_bytes", 1, 10, -1),
        ("on_update_transferred_bytes", 1, 5, 0),
        ("on_job_crashed", "a", 1, "Traceback", "ValueError", "bad"),
        ("on_process_died", "a"),
    ]


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
