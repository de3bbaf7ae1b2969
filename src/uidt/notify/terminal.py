"""Notifications in a terminal: a line-per-change sink and the ``uidt jobs --watch`` loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.text import Text

from uidt.clock import Clock, SystemClock
from uidt.notify.events import NotificationEvent, Posted, RawPayload, parse_event
from uidt.notify.ratelimit import Outbox

#: A terminal is read by a person: one line per notification per second is plenty.
TERMINAL_MIN_INTERVAL_MS = 1000

#: How often ``uidt jobs --watch`` re-reads the jobs.
WATCH_INTERVAL_S = 0.5

BAR_WIDTH = 20


def progress_bar(progress: float, width: int = BAR_WIDTH) -> str:
    """A text bar such as ``[#####-----] 50%`` (readable without colour)."""
    progress = min(1.0, max(0.0, progress))
    filled = round(progress * width)
    return f"[{'#' * filled}{'-' * (width - filled)}] {progress * 100:3.0f}%"


def format_notification(event: NotificationEvent) -> str:
    """One line describing a posted or removed notification."""
    head = f"{event.app} #{event.notification_id}"
    if not isinstance(event, Posted):
        return f"{head}: removed"
    parts = [event.title]
    if event.text:
        parts.append(event.text)
    line = f"{head}: {' — '.join(parts)}"
    if event.progress is not None:
        line += f" {progress_bar(event.progress)}"
    if not event.user_initiated_job:
        line += " (job ended)"
    if event.actions:
        line += " | actions: " + ", ".join(a.title for a in event.actions)
    return line


class TerminalNotifier:
    """A notification sink that prints one line per change, rate-limited per notification.

    Args:
        console: where to print (``rich.console.Console``).
        clock: time source for rate limiting.
        min_interval_ms: at most one line per this many milliseconds per notification; the
            final state and removals are always printed.
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        clock: Clock | None = None,
        min_interval_ms: int = TERMINAL_MIN_INTERVAL_MS,
    ) -> None:
        self.console = console or Console(stderr=True)
        self._outbox = Outbox(clock or SystemClock(), min_interval_ms)

    def __call__(self, kind: str, payload: RawPayload, /) -> None:
        """Receive a post or remove from the runtime."""
        self._outbox.put(parse_event(kind, payload))

    async def run(self) -> None:
        """Print notifications until :meth:`close`."""
        await self._outbox.run(self._print)

    def close(self) -> None:
        """Print what is held and let :meth:`run` return."""
        self._outbox.close()

    async def _print(self, event: NotificationEvent) -> None:
        self.console.print(Text(format_notification(event)), soft_wrap=True)


def watch_jobs(
    fetch: Callable[[], list[dict[str, Any]]],
    render: Callable[[list[dict[str, Any]]], RenderableType],
    *,
    console: Console | None = None,
    interval_s: float = WATCH_INTERVAL_S,
    stop: threading.Event | None = None,
    clock: Clock | None = None,
) -> None:
    """Re-render the jobs table in place every ``interval_s`` until ``stop`` is set or Ctrl-C.

    Args:
        fetch: reads the jobs (``GET /v1/jobs``).
        render: turns them into a rich renderable (``uidt.cli.render.jobs_table``).
        console: the terminal.
        interval_s: time between two reads.
        stop: set it to end the loop (the command ends on Ctrl-C instead).
        clock: shows the time of the last read.
    """
    from rich.live import Live

    console = console or Console()
    stop = stop or threading.Event()
    clock = clock or SystemClock()

    def frame() -> RenderableType:
        jobs = fetch()
        stamp = clock.utc().astimezone().strftime("%H:%M:%S")
        header = Text(f"uidt jobs — {stamp} — Ctrl-C to quit", style="bold")
        body: RenderableType = render(jobs) if jobs else Text("No jobs.")
        return Group(header, body)

    with Live(frame(), console=console, auto_refresh=False) as live:
        try:
            while not stop.wait(interval_s):
                live.update(frame(), refresh=True)
        except KeyboardInterrupt:
            return
