"""How a run ends: notification policy, timeout quota, cumulative runtime, drop or reschedule (see docs/android-semantics.md#stop-paths, #backoff)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.job.flags import INTERNAL_FLAG_DEMOTED_BY_SYSTEM_UIJ, INTERNAL_FLAG_DEMOTED_BY_USER
from uidt.job.reasons import InternalStopReason, StopReason
from uidt.server import backoff
from uidt.server.actions import UnbindApp
from uidt.server.context import JobServiceContext, Verb
from uidt.server.jobstate import JobState
from uidt.server.status import Override

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore

#: System stops that only wait for a condition to come back: no backoff wait is left over
#: (docs/android-semantics.md#beyond-android: a returning constraint starts the job at once).
_CONDITION_STOPS = frozenset(
    {InternalStopReason.CONSTRAINTS_NOT_SATISFIED, InternalStopReason.DEVICE_THERMAL}
)
_TIMEOUTS = frozenset({InternalStopReason.TIMEOUT, InternalStopReason.TIMEOUT_ABANDONED})

#: The longest failure reason kept (a one-line summary, not a log).
MAX_FAILURE_CHARS = 300


def one_line(reason: object) -> str:
    """A failure reason as one printable line of at most :data:`MAX_FAILURE_CHARS` (never empty).

    Control characters (terminal escapes from an app or a server's message) become spaces.
    """
    text = "".join(c if c.isprintable() else " " for c in str(reason))
    text = " ".join(text.split())
    if len(text) > MAX_FAILURE_CHARS:
        text = text[: MAX_FAILURE_CHARS - 1] + "…"
    return text or "failed (no reason given)"


def finish_run(
    svc: SchedulerCore, ctx: JobServiceContext, *, reschedule: bool, requeue: bool = False
) -> None:
    """Close ``ctx`` and decide the job's future.

    Args:
        svc: the service.
        ctx: the run to close.
        reschedule: the job comes back (with backoff) instead of being dropped.
        requeue: the run never started (stopped while binding): the job simply waits again.
    """
    status = ctx.status
    key = status.key
    now = svc.now()
    utc = svc.utc_ms(now)
    ctx.verb = Verb.FINISHED
    svc.run_table.remove(ctx)
    status.last_run_bytes = (
        ctx.estimated_download_bytes,
        ctx.estimated_upload_bytes,
        ctx.transferred_download_bytes,
        ctx.transferred_upload_bytes,
    )
    ran_ms = 0 if ctx.execution_start is None else now - ctx.execution_start
    status.cumulative_runtime_ms += ran_ms - ctx.stamped_ms
    status.override = Override.NONE
    reason, internal = ctx.stop_reason, ctx.internal_reason
    status.last_notification = svc.notifications.shown_of(ctx)
    scheduled = svc.jobs.get(key) is status  # not cancelled or replaced while running
    for action in svc.notifications.job_ended(ctx, reason, utc, tie=scheduled):
        svc.emit(action)
    if ctx.user_visible and (
        (internal in _TIMEOUTS and ctx.counts_as_timeout)
        or ran_ms >= svc.settings.runtime_min_ui_guarantee_ms
    ):
        svc.timeout_quota.note(key.app, now)
    unbind_if_idle(svc, key.app)
    svc.dirty.add(key)
    if svc.jobs.get(key) is not status:
        return  # cancelled or replaced while running: nothing comes back (a replacement may start)
    if ctx.execution_start is not None:
        status.last_stop_reason, status.last_internal_stop_reason = reason, internal
    if requeue:
        svc.settle(status)
        svc.record(status, "waiting", "stopped before it ran")
        return
    dropped_by_user = internal is InternalStopReason.USER_UI_STOP and ctx.user_visible
    if not reschedule or dropped_by_user or ctx.failure is not None:
        # A run that ends the job records why, even one that never executed (no answer to
        # on_start_job): the ended record must not keep an earlier run's reasons, or none,
        # and so read as completed.
        status.last_stop_reason, status.last_internal_stop_reason = reason, internal
    if ctx.failure is not None and not dropped_by_user:
        svc.end(status, JobState.FAILED, ctx.failure)
        status.last_failed_run_utc_ms = utc
        return
    if not reschedule or dropped_by_user:
        if internal is InternalStopReason.SUCCESSFUL_FINISH:
            status.last_successful_run_utc_ms = utc
        state = JobState.USER_STOPPED if dropped_by_user else JobState.FINISHED
        why = f"{reason.name}/{internal.name}"
        if ctx.incomplete is not None and state is JobState.FINISHED:
            status.incomplete = ctx.incomplete  # never reads completed
            why = f"{why}, ended without completing: {ctx.incomplete[1]}"
        svc.end(status, state, why)
        return
    settings = svc.settings
    decision = backoff.decide(
        status.num_failures,
        status.num_system_stops,
        reason,
        internal,
        status.job.initial_backoff_millis,
        status.job.backoff_policy,
        ratio=settings.system_stop_to_failure_ratio,
        min_backoff_ms=settings.min_backoff_ms,
        max_backoff_ms=settings.max_backoff_ms,
    )
    status.num_failures, status.num_system_stops = decision.num_failures, decision.num_system_stops
    failure = backoff.is_failure(reason, internal)
    delay = decision.delay_ms
    if not failure and internal in _CONDITION_STOPS:
        delay = 0
    status.earliest_run_elapsed = now + delay if delay else None
    if status.earliest_run_elapsed is not None:
        svc.backoff.arm(key, status.earliest_run_elapsed)
    if failure:
        status.last_failed_run_utc_ms = utc
    if reason is StopReason.USER:
        status.internal_flags |= INTERNAL_FLAG_DEMOTED_BY_USER
    if (
        status.treated_as_uij
        and status.cumulative_runtime_ms >= settings.runtime_cumulative_ui_limit_ms
    ):
        status.internal_flags |= INTERNAL_FLAG_DEMOTED_BY_SYSTEM_UIJ
    svc.settle(status)
    svc.record(status, "rescheduled", f"{reason.name}/{internal.name}, backoff {delay} ms")
    svc.persist(status)


def unbind_if_idle(svc: SchedulerCore, app: str) -> None:
    """Tell the shell when an app whose worker is up has no run left."""
    if svc.run_table.is_bound(app) and not svc.run_table.of_app(app):
        svc.emit(UnbindApp(app))
