"""Run a ``JobService`` in the foreground of this process when no daemon can be had.

Android apps use WorkManager's foreground service for this; uidt runs the service's callbacks on
this process's event loop, shows its notification in the terminal, and stops it (``on_stop_job``
with ``USER``) on Ctrl-C. No constraint is watched: the user is right there.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from uidt.app.manifest import Manifest
from uidt.host.worker import _invoke, load_service
from uidt.job.info import JobInfo
from uidt.job.notification import Notification
from uidt.job.params import JobParameters
from uidt.job.reasons import StopReason


class _AnyChannel(frozenset[str]):
    """Without a manifest every channel is accepted."""

    def __contains__(self, item: object) -> bool:
        return True


class ForegroundConnection:
    """A ``ServiceConnection`` that prints notifications and waits for ``job_finished``."""

    def __init__(self, channels: frozenset[str], loop: asyncio.AbstractEventLoop) -> None:
        self.channels = channels
        self.loop = loop
        self.finished: asyncio.Future[bool] = loop.create_future()
        self.last: Notification | None = None
        #: The reason the service gave to ``job_failed``, if it did.
        self.failure: str | None = None

    def call(self, method: str, params: JobParameters, args: dict[str, Any]) -> None:
        self.loop.call_soon_threadsafe(self._handle, method, args)

    def _handle(self, method: str, args: dict[str, Any]) -> None:
        if method == "set_notification":
            note = Notification.from_dict(args["notification"])
            self.last = note
            bar = "" if note.progress is None else f" [{note.progress * 100:5.1f}%]"
            sys.stderr.write(f"\r\x1b[2K{note.title}{bar} {note.text}")
            sys.stderr.flush()
        elif method == "job_finished" and not self.finished.done():
            failure = args.get("failure")
            if failure is not None:
                self.failure = str(failure)
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
        if not await _invoke(service.on_start_job, params):
            return True
        wants_reschedule = await connection.finished
    except (KeyboardInterrupt, asyncio.CancelledError):
        params.stop_reason = StopReason.USER
        await _invoke(service.on_stop_job, params)
        sys.stderr.write("\nstopped\n")
        return False
    finally:
        sys.stderr.write("\n")
    if connection.failure is not None:
        print(f"failed: {connection.failure}", file=sys.stderr)
        return False
    return not wants_reschedule


def run_in_foreground(app: str, job: JobInfo) -> bool:
    """Run a job of a built-in app in the foreground (``uidt download --foreground``)."""
    from uidt.daemon.builtin import builtin_manifests

    manifest = next((m for m in builtin_manifests() if m.package == app), None)
    if manifest is None:
        raise ValueError(f"{app} is not a built-in app; run its job through the daemon")
    try:
        return asyncio.run(run_service(manifest, job))
    except KeyboardInterrupt:
        return False
