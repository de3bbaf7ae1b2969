"""What happens when a timer fires (docs/android-semantics.md#the-execution-slot-and-its-timeouts, items 2, 3, 5, 6; docs/android-semantics.md#beyond-android watchdog)."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING

from uidt.job.key import JobKey
from uidt.job.reasons import InternalStopReason, StopReason
from uidt.server.actions import KillApp
from uidt.server.commands import expire_commands
from uidt.server.context import JobServiceContext, Verb
from uidt.server.outcome import finish_run
from uidt.server.runs import record_anr, stop_run

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore


class BackoffTimers:
    """When jobs' backoff (or minimum-latency) waits end: a heap of ``(due, seq, key)``.

    A job dropped or re-armed before its timer fires leaves a stale entry; stale entries are
    skipped by :meth:`next_due` (when the job is gone) or fire harmlessly (one extra evaluation).
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, JobKey]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def arm(self, key: JobKey, due: int) -> None:
        """Wake the core for ``key`` at elapsed ``due``."""
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, key))

    def next_due(self, alive: Callable[[JobKey], bool]) -> int | None:
        """The earliest due time of a job still ``alive`` (dropping the entries of gone jobs)."""
        heap = self._heap
        while heap and not alive(heap[0][2]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: int) -> list[JobKey]:
        """The keys whose wait is over at ``now``, removed from the heap."""
        heap, due = self._heap, []
        while heap and heap[0][0] <= now:
            due.append(heapq.heappop(heap)[2])
        return due


def fire_timers(svc: SchedulerCore) -> None:
    """Fire every due timer: run timeouts, backoff expiry, deferred shell commands."""
    now = svc.now()
    for ctx in svc.run_table:
        deadline = ctx.deadline(svc.settings)
        if deadline is not None and deadline <= now and svc.run_table.run(ctx.run_id) is ctx:
            _fire(svc, ctx, now)
    for key in svc.backoff.pop_due(now):
        svc.dirty.add(key)
    expire_commands(svc, now)


def _fire(svc: SchedulerCore, ctx: JobServiceContext, now: int) -> None:
    settings = svc.settings
    if ctx.verb is Verb.BINDING:
        # Bind timeout: rescheduled as a failure with internal ANR, but no app ANR.
        ctx.stop_reason, ctx.internal_reason = StopReason.UNDEFINED, InternalStopReason.ANR
        finish_run(svc, ctx, reschedule=True)
    elif ctx.verb is Verb.STARTING:
        ctx.stop_reason, ctx.internal_reason = StopReason.UNDEFINED, InternalStopReason.ANR
        record_anr(svc, ctx, "No response to onStartJob")
        finish_run(svc, ctx, reschedule=False)
        svc.emit(KillApp(ctx.app, "anr: no response to on_start_job"))
    elif ctx.verb is Verb.STOPPING:
        record_anr(svc, ctx, "No response to onStopJob")
        finish_run(svc, ctx, reschedule=True)
        svc.emit(KillApp(ctx.app, "anr: no response to on_stop_job"))
    elif ctx.verb is Verb.EXECUTING and ctx.execution_start is not None:
        start = ctx.execution_start
        if now >= start + ctx.stamped_ms + settings.execution_stamp_period_ms:
            # Stamp the cumulative runtime (persisted), so a daemon crash loses little of it.
            ran = now - start
            ctx.status.cumulative_runtime_ms += ran - ctx.stamped_ms
            ctx.stamped_ms = ran
            svc.persist(ctx.status)
        if ctx.awaiting_notification and now >= start + settings.notification_timeout_ms:
            ctx.stop_reason, ctx.internal_reason = StopReason.UNDEFINED, InternalStopReason.ANR
            record_anr(svc, ctx, "required notification not provided")
            finish_run(svc, ctx, reschedule=True)
            svc.emit(KillApp(ctx.app, "anr: required notification not provided"))
        elif now >= start + ctx.effective_max_ms():
            stop_run(svc, ctx, StopReason.TIMEOUT, InternalStopReason.TIMEOUT)
        elif (
            settings.stall_watchdog
            and ctx.bytes_reported
            and now >= ctx.last_progress + settings.stall_timeout_ms
        ):
            stop_run(
                svc,
                ctx,
                StopReason.TIMEOUT,
                InternalStopReason.TIMEOUT,
                force_reschedule=True,
                counts_as_timeout=False,
            )
        elif ctx.verb_since < start + ctx.min_guarantee_ms <= now:
            # Guarantee reached: the check pass re-evaluates the job (restrictions spare jobs
            # within their guarantee) and decides whether the slot is wanted (docs/android-semantics.md#concurrency).
            ctx.verb_since = now
            svc.dirty.add(ctx.status.key)
