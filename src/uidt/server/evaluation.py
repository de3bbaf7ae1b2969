"""Evaluation of one job: controllers set its bits, then readiness, queueing and pending reasons."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from uidt.job.hostlabels import missing_labels
from uidt.job.key import JobKey
from uidt.job.network import NetCapability, Transport
from uidt.server.commands import check_pending_command
from uidt.server.context import JobServiceContext
from uidt.server.controllers import (
    background_bits,
    battery_bits,
    connectivity_satisfied,
    storage_bits,
)
from uidt.server.controllers.connectivity import offers_satisfy
from uidt.server.controllers.tracking import Reading
from uidt.server.jobfacts import max_runtime_for, set_reasons
from uidt.server.jobstate import check_transition, derive
from uidt.server.readiness import Blocks, is_ready, pending_reasons
from uidt.server.restrictions import thermally_restricted
from uidt.server.status import Bit, JobStatus

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore


def blocks_for(
    core: SchedulerCore, status: JobStatus, ctx: JobServiceContext | None = None
) -> Blocks:
    """The implicit reasons that hold ``status`` back now (``ctx``: its run, when known)."""
    app = status.key.app
    registry = core.registry
    info = registry.get(app)
    if ctx is None:
        ctx = core.run_table.get(status.key)
    within = ctx is not None and ctx.within_guarantee(core.now())
    device = core.device
    return Blocks(
        info is None or status.job.service not in info.services,
        registry.is_user_stopped(app),
        device.power_saver and not status.treated_as_uij,
        thermally_restricted(
            status,
            device.thermal,
            app_visible=registry.is_visible(app),
            running_within_guarantee=within,
        ),
        bool(missing_labels(status.job.required_host_labels, core.settings.host_labels)),
    )


def satisfied_bits(core: SchedulerCore, status: JobStatus) -> int:
    """The constraint bits the controllers find satisfied for ``status`` now (no change made)."""
    device = core.device
    now = core.now()
    key = status.key
    registry = core.registry
    visible = registry.is_visible(key.app)
    bits = battery_bits(status, device, app_visible=visible)
    bits |= storage_bits(device)
    bits |= background_bits(
        restricted=registry.is_background_restricted(key.app), app_visible=visible
    )
    if status.job.required_network is None or (
        device.network is not None
        and connectivity_satisfied(
            status,
            device.network,
            max_execution_ms=max_runtime_for(core, status),
            charging=device.charging,
        )
    ):
        bits |= Bit.CONNECTIVITY
    if status.earliest_run_elapsed is None or now >= status.earliest_run_elapsed:
        bits |= Bit.TIMING_DELAY
    return bits


def evaluate(core: SchedulerCore, status: JobStatus) -> None:
    """Controllers set the job's bits; readiness and pending reasons follow."""
    now = core.now()
    key = status.key
    status.satisfied = satisfied_bits(core, status)
    ctx = core.run_table.get(key)
    blocks = blocks_for(core, status, ctx)
    status.restricted = blocks.restricted
    status.ready = is_ready(status, blocks)
    running = ctx is not None  # this job's run, or the run of the job it replaced
    if not running:
        if status.ready:
            core.pending.add(status, now)
        else:
            core.pending.discard(key)
            status.pending_since = None
    reasons = pending_reasons(
        status, blocks, running=running, queued=status.ready, stopping=core.stopping
    )
    set_reasons(core, status, reasons)
    # the one derivation (as SchedulerCore.settle), from the facts just established
    state = derive(
        running=running and ctx is not None and ctx.status is status,
        queued=status.ready if not running else key in core.pending,
        ready=status.ready,
    )
    if state is not status.state:
        status.state = check_transition(status.state, state)
    check_pending_command(core, status)


_POWER_BITS = Bit.CHARGING | Bit.BATTERY_NOT_LOW


def changed_by_device(
    core: SchedulerCore, statuses: Iterable[JobStatus], readings: set[Reading]
) -> list[JobKey] | None:
    """The jobs among ``statuses`` whose required bits the new device readings change, or
    ``None`` as soon as they are more than half of all jobs (then one sweep over every job is
    cheaper than marking each).

    Only the controllers of the changed ``readings`` are asked (Android's controllers report just
    the jobs whose constraint flipped); a job whose bits stay as they were needs no evaluation,
    since nothing else in it depends on these readings. A job without byte figures is judged
    by its network request alone, once per distinct request (:func:`bandwidth_matters`).
    """
    device = core.device
    power = Reading.POWER in readings
    network = Reading.NETWORK in readings or power
    storage_now = storage_bits(device) if Reading.STORAGE in readings else None
    registry = core.registry
    runtimes: dict[tuple[str, bool], int] = {}
    #: By the request's (capabilities, transports): cheaper to hash than the request itself.
    verdicts: dict[tuple[frozenset[NetCapability], frozenset[Transport]], bool] = {}
    most = len(core.jobs) // 2
    changed: list[JobKey] = []
    for status in statuses:
        key = status.key
        required, old = status.required, status.satisfied
        new = old
        if power and required & _POWER_BITS:
            visible = registry.is_visible(key.app)
            new = (new & ~_POWER_BITS) | battery_bits(status, device, app_visible=visible)
        if storage_now is not None:
            new = (new & ~Bit.STORAGE_NOT_LOW) | storage_now
        if (new ^ old) & required:
            changed.append(key)  # already flipped: the evaluation redoes connectivity anyway
            if len(changed) > most:
                return None
            continue
        wants = status.network_wants
        if network and wants is not None and not (status.work or status.has_byte_figures):
            # bandwidth_matters(status) is False: the request alone decides
            ok = verdicts.get(wants)
            if ok is None:
                request = status.job.required_network
                assert request is not None  # network_wants is derived from it
                ok = verdicts[wants] = offers_satisfy(request, device.network)
            new = (new | Bit.CONNECTIVITY) if ok else (new & ~Bit.CONNECTIVITY)
        elif network and required & Bit.CONNECTIVITY:
            which = (key.app, status.treated_as_uij)
            runtime = runtimes.get(which)
            if runtime is None:
                runtime = runtimes[which] = max_runtime_for(core, status)
            ok = connectivity_satisfied(
                status, device.network, max_execution_ms=runtime, charging=device.charging
            )
            new = (new | Bit.CONNECTIVITY) if ok else (new & ~Bit.CONNECTIVITY)
        if (new ^ old) & required:
            changed.append(key)
            if len(changed) > most:
                return None
    return changed
