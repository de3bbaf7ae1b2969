"""Run a ``JobService`` in the foreground of this process when no daemon can be had.

Android apps use WorkManager's foreground service for this; uidt runs the service's callbacks on
this process's event loop, shows its notification in the terminal, and stops it (``on_stop_job``
with ``USER``) on Ctrl-C. No constraint is watched: the user is right there.

On a terminal the notification is one line redrawn in place (cut to the terminal's width);
into a pipe or a file it is printed as plain lines, at most one every :data:`PLAIN_INTERVAL_S`
seconds (a new title, such as "complete" or "failed", and the last notification are always
printed), so a log gets neither escape sequences nor thousands of lines.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from uidt.app.invoke import invoke_callback, load_service
from uidt.job.info import JobInfo
from uidt.job.notification import Notification
from uidt.job.params import JobParameters
from uidt.job.reasons import StopReason
from uidt.packages.manifest import Manifest


class _AnyChannel(frozenset[str]):
    """Without a manifest every channel is accepted."""

    def __contains__(self, item: object) -> bool:
        return True


#: Into a pipe or a file, the progress is printed at most this often (seconds).
PLAIN_INTERVAL_S = 5.0


def notification_line(note: Notification) -> str:
    """``Download x [ 40.0%] 2.0 MiB of 5.0 MiB``: a notification as one line of text."""
    bar = "" if note.progress is None else f" [{note.progress * 100:5.1f}%]"
    return f"{note.title}{bar} {note.text}".rstrip()


class ProgressPrinter:
    """Prints a job's notifications on ``stream``: in place on a terminal, else as plain lines."""

    def __init__(
        self,
        stream: TextIO,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval: float = PLAIN_INTERVAL_S,
    ) -> None:
        self.stream = stream
        self.clock = clock
        self.interval = interval
        self.terminal = stream.isatty()
        self.drawn = False
        self.printed_at: float | None = None
        self.printed_title: str | None = None
        self.pending: Notification | None = None

    def show(self, note: Notification) -> None:
        if self.terminal:
            width = shutil.get_terminal_size().columns
            # One column short of the width: a full line would wrap on some terminals.
            self.stream.write("\r\x1b[2K" + notification_line(note)[: max(1, width - 1)])
            self.drawn = True
        else:
            now = self.clock()
            due = self.printed_at is None or now - self.printed_at >= self.interval
            if due or note.title != self.printed_title:
                self._print(note, now)
            else:
                self.pending = note
        self.stream.flush()

    def end(self) -> None:
        """Finish the output: end the terminal line, or print the last notification if held."""
        if self.terminal and self.drawn:
            self.stream.write("\n")
        elif self.pending is not None:
            self._print(self.pending, self.clock())
        self.drawn = False
        self.stream.flush()

    def _print(self, note: Notification, now: float) -> None:
        self.stream.write(notification_line(note) + "\n")
        self.printed_at, self.printed_title, self.pending = now, note.title, None


class ForegroundConnection:
    """A ``ServiceConnection`` that prints notifications and waits for ``job_finished``."""

    def __init__(
        self,
        channels: frozenset[str],
        loop: asyncio.AbstractEventLoop,
        printer: ProgressPrinter | None = None,
    ) -> None:
        self.channels = channels
        self.loop = loop
        self.finished: asyncio.Future[bool] = loop.create_future()
        self.last: Notification | None = None
        #: The reason the service gave to ``job_failed``, if it did.
        self.failure: str | None = None
        self.incomplete: str | None = None
        self.printer = printer if printer is not None else ProgressPrinter(sys.stderr)

    def call(self, method: str, params: JobParameters, args: dict[str, Any]) -> None:
        self.loop.call_soon_threadsafe(self._handle, method, args)

    def _handle(self, method: str, args: dict[str, Any]) -> None:
        if method == "set_notification":
            note = Notification.from_dict(args["notification"])
            self.last = note
            self.printer.show(note)
        elif method == "job_finished" and not self.finished.done():
            failure = args.get("failure")
            if failure is not None:
                self.failure = str(failure)
            elif args.get("incomplete") is not None:  # job_ended_incomplete: not done
                self.incomplete = str(args.get("incomplete_reason") or args["incomplete"])
            self.finished.set_result(bool(args.get("wants_reschedule")))


async def run_service(manifest: Manifest | None, job: JobInfo) -> bool:
    """Run ``job`` in this process; ``True`` if it finished without asking to be rescheduled."""
    loop = asyncio.get_running_loop()
    channels = _AnyChannel() if manifest is None else frozenset(c.id for c in manifest.channels)
    connection = ForegroundConnection(channels, loop)
    service = load_service(job.service)()
    service.attach(connection)
    params = JobParameters(
        job_id=job.job_id,
        extras=job.extras,
        transient_extras=job.transient_extras,
        user_initiated=job.is_user_initiated(),
        run_id=1,
    )
    print("uidt: no daemon; running the job in the foreground (Ctrl-C stops it)", file=sys.stderr)
    try:
        if not await invoke_callback(service.on_start_job, params):
            return True
        wants_reschedule = await connection.finished
    except (KeyboardInterrupt, asyncio.CancelledError):
        params.stop_reason = StopReason.USER
        await invoke_callback(service.on_stop_job, params)
        connection.printer.end()
        sys.stderr.write("stopped\n")
        return False
    finally:
        connection.printer.end()
    if connection.failure is not None:
        print(f"failed: {connection.failure}", file=sys.stderr)
        return False
    if connection.incomplete is not None:
        print(f"ended without completing: {connection.incomplete}", file=sys.stderr)
        return False
    return not wants_reschedule


def run_in_foreground(manifest: Manifest, job: JobInfo) -> bool:
    """Run a job of ``manifest``'s app in the foreground (``uidt download --foreground``)."""
    try:
        return asyncio.run(run_service(manifest, job))
    except KeyboardInterrupt:
        return False
