"""``HostEvents``: what the hosting layer tells the core about app workers and running jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.job.notification import EndPolicy, Notification
from uidt.job.reasons import Incomplete, InternalStopReason, StopReason
from uidt.server.actions import KillApp
from uidt.server.context import Verb
from uidt.server.crashes import note_crash
from uidt.server.notificationmanager import usable_channels
from uidt.server.outcome import finish_run, one_line, unbind_if_idle
from uidt.server.runs import send_start, stop_run

if TYPE_CHECKING:
    from collections.abc import Callable

    from uidt.server.context import JobServiceContext
    from uidt.server.core import SchedulerCore


class HostEvents:
    """Callbacks from the app workers (docs/android-semantics.md#the-execution-slot-and-its-timeouts), on one core (``service.host``).

    A facet of the core, not part of its class: each fact a worker reports (``on_start_job``
    returned, ``job_finished``, the process died …) is one method here, reached through
    :func:`uidt.server.eventrouting.route`; it uses the core's parts' public APIs only.
    """

    def __init__(self, core: SchedulerCore) -> None:
        self._core = core

    def on_bound(self, app: str) -> None:
        """The app's worker process is up: start its runs waiting in BINDING."""
        with self._core.batch():
            self._core.run_table.worker_up(app)
            for ctx in self._core.run_table.of_app(app):
                if ctx.verb is Verb.BINDING:
                    send_start(self._core, ctx)
            unbind_if_idle(self._core, app)

    def on_bind_failed(self, app: str) -> None:
        """The worker could not be started: its runs end as system stops and are rescheduled."""
        self._core.run_table.worker_gone(app)
        with self._core.batch():
            for ctx in self._core.run_table.of_app(app):
                if ctx.verb is Verb.BINDING:
                    ctx.stop_reason, ctx.internal_reason = (
                        StopReason.UNDEFINED,
                        InternalStopReason.UNKNOWN,
                    )
                    finish_run(self._core, ctx, reschedule=not ctx.cancelled)

    def on_start_job_result(self, run_id: int, wants_to_run: bool) -> None:
        """``on_start_job`` returned: EXECUTING, or finished at once when it returned ``False``."""
        ctx = self._core.run_table.run(run_id)
        if ctx is None or ctx.verb is not Verb.STARTING:
            return
        with self._core.batch():
            if not wants_to_run:
                ctx.stop_reason = StopReason.UNDEFINED
                ctx.internal_reason = InternalStopReason.SUCCESSFUL_FINISH
                finish_run(self._core, ctx, reschedule=False)
                return
            now = self._core.now()
            ctx.verb, ctx.verb_since = Verb.EXECUTING, now
            ctx.execution_start = now
            ctx.last_progress = now
            # set_notification may already have come while on_start_job ran
            ctx.awaiting_notification = ctx.user_visible and ctx.notification_id is None
            self._core.record(ctx.status, "executing", "on_start_job returned true")
            if ctx.cancelled:
                ctx.deferred_stop = (StopReason.CANCELLED_BY_APP, InternalStopReason.CANCELED)
            if ctx.deferred_stop is not None:
                reason, internal = ctx.deferred_stop
                stop_run(self._core, ctx, reason, internal)

    def on_stop_job_result(self, run_id: int, wants_reschedule: bool) -> None:
        """``on_stop_job`` returned the app's reschedule wish."""
        ctx = self._core.run_table.run(run_id)
        if ctx is None or ctx.verb is not Verb.STOPPING:
            return
        with self._core.batch():
            finish_run(self._core, ctx, reschedule=wants_reschedule or ctx.force_reschedule)

    def on_job_finished(
        self, run_id: int, wants_reschedule: bool, incomplete: tuple[Incomplete, str] | None = None
    ) -> None:
        """``job_finished``: SUCCESSFUL_FINISH; while stopping, the stop's reasons are kept.

        ``incomplete`` (``job_ended_incomplete``, a uidt extension): the app ended the job
        without its work done (how, and its words): it ends ``finished`` but never reads
        completed (a paused transfer).
        """
        ctx = self._core.run_table.run(run_id)
        if ctx is not None and incomplete is not None:
            ctx.incomplete = incomplete[0], one_line(incomplete[1])
        self._end_run(run_id, None, lambda ctx: wants_reschedule or ctx.force_reschedule)

    def on_job_failed(self, run_id: int, failure: str) -> None:
        """``job_failed`` (a uidt extension): the run ends and the job is dropped as ``failed``.

        Stop reasons are recorded as for ``job_finished`` (while stopping, the stop's); the job is
        never rescheduled, whatever the stop asked for: the app says retrying cannot help.
        """
        self._end_run(run_id, one_line(failure), lambda _ctx: False)

    def _end_run(
        self, run_id: int, failure: str | None, reschedule: Callable[[JobServiceContext], bool]
    ) -> None:
        """The app ended the run: SUCCESSFUL_FINISH unless it was stopping (then the stop's
        reasons are kept); ``failure`` marks it failed; ``reschedule`` decides on another run."""
        ctx = self._core.run_table.run(run_id)
        if ctx is None:
            return
        with self._core.batch():
            if ctx.verb is not Verb.STOPPING:
                ctx.stop_reason = StopReason.UNDEFINED
                ctx.internal_reason = InternalStopReason.SUCCESSFUL_FINISH
            if failure is not None:
                ctx.failure = failure
            finish_run(self._core, ctx, reschedule=reschedule(ctx))

    def on_set_notification(
        self,
        run_id: int,
        notification_id: int,
        notification: Notification,
        end_policy: EndPolicy | int,
    ) -> None:
        """``set_notification`` from a running job.

        Raises:
            InvalidJobError: undeclared channel or bad end policy (delivered to the app).
        """
        ctx = self._core.run_table.run(run_id)
        if ctx is None or ctx.verb in (Verb.BINDING, Verb.FINISHED):
            return
        channels = usable_channels(self._core, ctx.app)
        for action in self._core.notifications.set_notification(
            ctx, notification_id, notification, end_policy, channels, self._core.utc_ms()
        ):
            self._core.emit(action)

    def on_update_estimated_bytes(self, run_id: int, download: int, upload: int) -> None:
        """``update_estimated_network_bytes``: replaces the running estimate."""
        ctx = self._core.run_table.run(run_id)
        if ctx is not None:
            ctx.estimated_download_bytes, ctx.estimated_upload_bytes = download, upload

    def on_update_transferred_bytes(self, run_id: int, download: int, upload: int) -> None:
        """``update_transferred_network_bytes``: replaces the counters; progress feeds the watchdog."""
        ctx = self._core.run_table.run(run_id)
        if ctx is None:
            return
        moved = (download, upload) != (ctx.transferred_download_bytes, ctx.transferred_upload_bytes)
        if moved or not ctx.bytes_reported:
            ctx.last_progress = self._core.now()
        ctx.transferred_download_bytes, ctx.transferred_upload_bytes = download, upload
        ctx.bytes_reported = True
        ctx.status.byte_samples.add(self._core.utc_ms(), max(0, download) + max(0, upload))

    def on_job_crashed(self, run_id: int, exc_type: str, message: str) -> None:
        """An exception escaped the app's code in a run: keep it as the job's last crash.

        The run itself ends when the worker dies (the daemon kills it, as Android kills a
        crashing process): that is a system stop, see :meth:`on_process_died`.
        """
        ctx = self._core.run_table.run(run_id)
        if ctx is None:
            return
        status = ctx.status
        status.last_crash = note_crash(status.last_crash, exc_type, message, self._core.utc_ms())
        self._core.record(
            status, "crashed", f"{status.last_crash.type}: {status.last_crash.message}"
        )
        self._core.dirty.add(status.key)

    def low_memory_kill(self, app: str) -> None:
        """The daemon kills an app's worker for memory: its runs end as system stops when the
        process is gone (:meth:`on_process_died`) and are rescheduled."""
        for ctx in self._core.run_table.of_app(app):
            ctx.death_mark = (StopReason.UNDEFINED, InternalStopReason.UNKNOWN)
        self._core.emit(KillApp(app, "low memory"))

    def on_process_died(self, app: str) -> None:
        """The worker died (EOF / waitpid): every run of the app ends, rescheduled unless marked."""
        self._core.run_table.worker_gone(app)
        with self._core.batch():
            for ctx in self._core.run_table.of_app(app):
                if ctx.death_mark is not None:
                    ctx.stop_reason, ctx.internal_reason = ctx.death_mark
                elif ctx.verb is not Verb.STOPPING:
                    ctx.stop_reason, ctx.internal_reason = (
                        StopReason.UNDEFINED,
                        InternalStopReason.UNKNOWN,
                    )
                finish_run(self._core, ctx, reschedule=True)
