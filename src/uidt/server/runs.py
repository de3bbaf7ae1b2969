"""The run lifecycle: a job gets a slot, its app's worker is asked to start it, a run is stopped.

How a run ends is :mod:`uidt.server.outcome`; the slots themselves are the
:class:`~uidt.server.runtable.RunTable`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.job.params import JobParameters
from uidt.job.reasons import InternalStopReason, PendingReason, StopReason
from uidt.server import limits
from uidt.server.actions import BindApp, RecordAnr, StartJob, StopJob
from uidt.server.context import JobServiceContext, Verb
from uidt.server.controllers.connectivity import estimated_transfer_ms
from uidt.server.jobfacts import max_runtime_for, set_reasons
from uidt.server.outcome import finish_run
from uidt.server.status import JobStatus

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore


def start_run(core: SchedulerCore, status: JobStatus) -> JobServiceContext:
    """Give the job an execution slot: bind the app if needed, else send ``on_start_job``."""
    now = core.now()
    app = status.key.app
    uij_ok = core.registry.can_run_user_initiated_jobs(app)
    in_quota = core.timeout_quota.in_quota(app, now)
    guarantee = limits.min_guarantee_ms(
        core.settings,
        treated_as_uij=status.treated_as_uij,
        uij_ok=uij_ok,
        in_quota=in_quota,
        has_network=status.job.required_network is not None,
        transfer_ms=estimated_transfer_ms(status, core.device.network),
    )
    ctx = JobServiceContext(
        run_id=core.run_table.new_run_id(),
        status=status,
        verb=Verb.BINDING,
        verb_since=now,
        user_visible=status.treated_as_uij,
        min_guarantee_ms=guarantee,
        max_runtime_ms=max_runtime_for(core, status),
        estimated_download_bytes=status.estimated_bytes()[0],
        estimated_upload_bytes=status.estimated_bytes()[1],
    )
    core.pending.discard(status.key)
    status.pending_since = None
    core.run_table.add(ctx)
    set_reasons(core, status, (PendingReason.EXECUTING,))
    core.settle(status)
    core.record(status, "active", "started")
    if core.run_table.is_bound(app):
        send_start(core, ctx)
    elif core.run_table.want_worker(app):
        core.emit(BindApp(app))
    return ctx


def send_start(core: SchedulerCore, ctx: JobServiceContext) -> None:
    """The app's worker is up: send ``on_start_job`` for a run (STARTING)."""
    status = ctx.status
    ctx.verb, ctx.verb_since = Verb.STARTING, core.now()
    network = core.device.network
    params = JobParameters(
        job_id=status.key.job_id,
        namespace=status.key.namespace,
        extras=status.job.extras,
        transient_extras=status.job.transient_extras,
        network=(
            core.device.to_dict()["network"]
            if status.job.required_network is not None and network is not None
            else None
        ),
        user_initiated=ctx.user_visible,
        expedited=status.job.expedited,
        run_id=ctx.run_id,
    )
    core.emit(StartJob(ctx.run_id, status.key, status.job.service, params, tuple(status.work)))


def stop_run(
    core: SchedulerCore,
    ctx: JobServiceContext,
    reason: StopReason,
    internal: InternalStopReason,
    *,
    force_reschedule: bool = False,
    counts_as_timeout: bool = True,
) -> None:
    """Stop a run with reasons; what happens depends on its verb (docs/android-semantics.md#the-execution-slot-and-its-timeouts, item 11)."""
    ctx.force_reschedule = ctx.force_reschedule or force_reschedule
    ctx.counts_as_timeout = counts_as_timeout
    if ctx.verb is Verb.BINDING:
        ctx.stop_reason, ctx.internal_reason = reason, internal
        finish_run(core, ctx, reschedule=False, requeue=not ctx.cancelled)
    elif ctx.verb is Verb.STARTING:
        ctx.deferred_stop = (reason, internal)
    elif ctx.verb is Verb.EXECUTING:
        ctx.verb, ctx.verb_since = Verb.STOPPING, core.now()
        ctx.stop_reason, ctx.internal_reason = reason, internal
        ctx.status.last_stop_reason = reason
        ctx.status.last_internal_stop_reason = internal
        core.emit(StopJob(ctx.run_id, ctx.status.key, reason, internal))


def record_anr(core: SchedulerCore, ctx: JobServiceContext, reason: str) -> None:
    """Keep an ANR and tell the shell."""
    utc = core.utc_ms()
    key = ctx.status.key
    core.anrs.append({"app": key.app, "job_id": key.job_id, "reason": reason, "time": utc})
    core.emit(RecordAnr(key.app, key, reason, utc))
