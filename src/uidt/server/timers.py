"""What happens when a timer fires (reference §3.2 items 2, 3, 5, 6; semantics §3 watchdog)."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from uidt.job.reasons import InternalStopReason, StopReason
from uidt.server.actions import KillApp
from uidt.server.commands import expire_commands
from uidt.server.context import JobServiceContext, Verb

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore


def fire_timers(svc: SchedulerCore) -> None:
    """Fire every due timer: run timeouts, backoff expiry, deferred shell commands."""
    now = svc.now()
    for ctx in list(svc.running.values()):
        deadline = ctx.deadline(svc.settings)
        if deadline is not None and deadline <= now and ctx.run_id in svc.runs:
            _fire(svc, ctx, now)
    delays = svc._delays
    while delays and delays[0][0] <= now:
        _, _, key = heapq.heappop(delays)
        svc.mark_dirty(key)
    expire_commands(svc, now)


def _fire(svc: SchedulerCore, ctx: JobServiceContext, now: int) -> None:
    settings = svc.settings
    if ctx.verb is Verb.BINDING:
        # Bind timeout: rescheduled as a failure with internal ANR, but no app ANR.
        ctx.stop_reason, ctx.internal_reason = StopReason.UNDEFINED, InternalStopReason.ANR
        svc.close_run(ctx, reschedule=True)
    elif ctx.verb is Verb.STARTING:
        ctx.stop_reason, ctx.internal_reason = StopReason.UNDEFINED, InternalStopReason.ANR
        svc.record_anr(ctx, "No response to onStartJob")
        svc.close_run(ctx, reschedule=False)
        svc.emit(KillApp(ctx.app, "anr: no response to on_start_job"))
    elif ctx.verb is Verb.STOPPING:
        svc.record_anr(ctx, "No response to onStopJob")
        svc.close_run(ctx, reschedule=True)
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
            svc.record_anr(ctx, "required notification not provided")
            svc.close_run(ctx, reschedule=True)
            svc.emit(KillApp(ctx.app, "anr: required notification not provided"))
        elif now >= start + ctx.effective_max_ms():
            svc.stop_run(ctx, StopReason.TIMEOUT, InternalStopReason.TIMEOUT)
        elif (
            settings.stall_watchdog
            and ctx.bytes_reported
            and now >= ctx.last_progress + settings.stall_timeout_ms
        ):
            svc.stop_run(
                ctx,
                StopReason.TIMEOUT,
                InternalStopReason.TIMEOUT,
                force_reschedule=True,
                counts_as_timeout=False,
            )
        elif ctx.verb_since < start + ctx.min_guarantee_ms <= now:
            # Guarantee reached: the check pass re-evaluates the job (restrictions spare jobs
            # within their guarantee) and decides whether the slot is wanted (§7.4).
            ctx.verb_since = now
            svc.mark_dirty(ctx.status.key)
