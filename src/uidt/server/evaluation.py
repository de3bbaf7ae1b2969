"""Evaluation of one job: controllers set its bits, then readiness, queueing and pending reasons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.server import limits
from uidt.server.commands import check_pending_command
from uidt.server.controllers import battery_bits, connectivity_satisfied, storage_bits
from uidt.server.readiness import Blocks, is_ready, pending_reasons
from uidt.server.restrictions import thermally_restricted
from uidt.server.status import Bit, JobStatus

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore


def blocks_for(core: SchedulerCore, status: JobStatus) -> Blocks:
    """The implicit reasons that hold ``status`` back now."""
    app = status.key.app
    registry = core.registry
    info = registry.get(app)
    ctx = core.run_table.get(status.key)
    within = ctx is not None and ctx.within_guarantee(core.now())
    return Blocks(
        app_missing=info is None or status.job.service not in info.services,
        user_stopped=registry.is_user_stopped(app),
        power_saver=core.device.power_saver and not status.treated_as_uij,
        restricted=thermally_restricted(
            status,
            core.device.thermal,
            app_visible=registry.is_visible(app),
            running_within_guarantee=within,
        ),
    )


def max_runtime_for(core: SchedulerCore, status: JobStatus) -> int:
    """The maximum runtime a run of this job would get now."""
    return limits.max_runtime_ms(
        core.settings,
        treated_as_uij=status.treated_as_uij,
        uij_ok=core.can_run_user_initiated_jobs(status.key.app),
        in_quota=core.timeout_quota.in_quota(status.key.app, core.now()),
    )


def evaluate(core: SchedulerCore, status: JobStatus) -> None:
    """Controllers set the job's bits; readiness and pending reasons follow."""
    device = core.device
    now = core.now()
    bits = battery_bits(status, device, app_visible=core.registry.is_visible(status.key.app))
    bits |= storage_bits(device)
    if connectivity_satisfied(
        status,
        device.network,
        max_execution_ms=max_runtime_for(core, status),
        charging=device.charging,
    ):
        bits |= Bit.CONNECTIVITY
    if status.earliest_run_elapsed is None or now >= status.earliest_run_elapsed:
        bits |= Bit.TIMING_DELAY
    status.satisfied = bits
    blocks = blocks_for(core, status)
    status.restricted = blocks.restricted
    status.ready = is_ready(status, blocks)
    running = status.key in core.run_table
    if not running:
        if status.ready:
            core.enqueue(status, now)
        else:
            core.dequeue(status.key)
            status.pending_since = None
    core.set_reasons(status, pending_reasons(status, blocks, running=running, queued=status.ready))
    core.settle(status)
    check_pending_command(core, status)
