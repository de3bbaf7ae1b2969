"""The terminal sink's lines and the ``uidt jobs --watch`` loop."""

from __future__ import annotations

import asyncio
import io
import threading
from typing import Any

from rich.console import Console
from rich.table import Table

from uidt.job.key import JobKey
from uidt.job.notification import Notification, NotificationAction
from uidt.notify.events import Posted, Removed
from uidt.notify.terminal import TerminalNotifier, format_notification, progress_bar, watch_jobs
from uidt.store.record import NotificationRecord
from uidt.testing import FakeClock


def posted(progress: float | None, *, ui: bool = True) -> Posted:
    return Posted("org.example", 2, "Downloading a.iso", "5 MiB of 10 MiB", progress, ui, (), ui)


def test_progress_bar_is_readable_without_colour() -> None:
    assert progress_bar(0.5, width=10) == "[#####-----]  50%"
    assert progress_bar(1.7, width=4) == "[####] 100%"


def test_lines_for_posts_detached_posts_and_removes() -> None:
    assert format_notification(posted(0.5)) == (
        "org.example #2: Downloading a.iso — 5 MiB of 10 MiB [##########----------]  50%"
    )
    assert format_notification(posted(None, ui=False)).endswith("(job ended)")
    assert format_notification(Removed("org.example", 2)) == "org.example #2: removed"
    with_action = Posted("a", 1, "T", "", None, True, (), True)
    assert format_notification(with_action) == "a #1: T"


async def test_terminal_notifier_prints_rate_limited_lines() -> None:
    out = io.StringIO()
    sink = TerminalNotifier(Console(file=out, width=200), min_interval_ms=60_000)
    task = asyncio.create_task(sink.run())

    def record(progress: float) -> NotificationRecord:
        note = Notification(
            "c", "Copy", progress=progress, actions=(NotificationAction("p", "Pause"),)
        )
        return NotificationRecord("app", 1, note.to_dict(), JobKey("app", None, 1), True)

    sink("post", record(0.1))
    sink("post", record(0.2))  # held: at most one line a minute here
    sink("post", record(0.3))
    sink("remove", ("app", 1))  # drops the held one
    sink.close()
    await asyncio.wait_for(task, timeout=5)
    assert out.getvalue().splitlines() == [
        "app #1: Copy [##------------------]  10% | actions: Pause",
        "app #1: removed",
    ]


def test_watch_rerenders_until_stopped() -> None:
    out = io.StringIO()
    stop = threading.Event()
    snapshots: list[list[dict[str, Any]]] = [
        [{"app": "a", "job_id": 1, "state": "active"}],
        [{"app": "a", "job_id": 1, "state": "pending"}],
        [],
    ]
    calls: list[int] = []

    def fetch() -> list[dict[str, Any]]:
        calls.append(1)
        if len(calls) == len(snapshots):
            stop.set()
        return snapshots[len(calls) - 1]

    def render(jobs: list[dict[str, Any]]) -> Table:
        table = Table("app", "state")
        for job in jobs:
            table.add_row(job["app"], job["state"])
        return table

    console = Console(file=out, width=80, force_terminal=True, color_system=None)
    watch_jobs(fetch, render, console=console, interval_s=0.001, stop=stop, clock=FakeClock())
    text = out.getvalue()
    assert len(calls) == 3
    assert "active" in text
    assert "pending" in text
    assert "No jobs." in text
    assert "Ctrl-C to quit" in text
