"""Slot assignment (docs/android-semantics.md#concurrency): the limit, the reserved UI share, privilege and max-wait bypass.

* ``max_total`` slots from the steady limit and memory pressure; ``ui_reserved`` of them only
  treated user-initiated jobs may take.
* A treated UIJ of an app that is visible or within its visible grace starts at once, beyond the
  limit (CTS ``testTopUiUnlimited``: 65 UIJs of a TOP app all start).
* A pending UIJ that would wait at least ``max_wait_ui_ms`` for any running job's guarantee to end
  gets one extra slot while no UIJ runs.
* When a pending job finds no slot, a running job past its minimum guarantee is stopped with
  DEVICE_STATE / internal TIMEOUT (docs/android-semantics.md#concurrency).
* Once the daemon is stopping (``SchedulerCore.stopping``) nothing is started at all.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from uidt.job.reasons import InternalStopReason, StopReason
from uidt.server.context import JobServiceContext, Verb
from uidt.server.restrictions import max_total_jobs, ui_reserved_slots
from uidt.server.runs import start_run, stop_run
from uidt.server.status import JobStatus

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore


def pending_order(status: JobStatus) -> tuple[bool, int, int, str, str, int]:
    """UIJs first, then higher effective priority, then longest waiting."""
    key = status.key
    return (
        not status.treated_as_uij,
        -status.effective_priority,
        status.pending_since if status.pending_since is not None else 0,
        key.app,
        key.namespace or "",
        key.job_id,
    )


def limits_now(svc: SchedulerCore) -> tuple[int, int]:
    """``(max_total, ui_reserved)`` under the current memory pressure."""
    total = max_total_jobs(svc.steady_limit, svc.device.memory)
    return total, ui_reserved_slots(total, svc.device.memory)


def assign(svc: SchedulerCore) -> None:
    """Start queued jobs while slots allow; make room past guarantees when they do not.

    Costs O(privileged jobs + free slots * log(queue)) when slots are free, and one scan of the
    queue only when the bypass may apply (no UIJ running), so a pass over a long queue stays cheap.
    """
    svc.assign_wakeup = None
    pending = svc.pending
    if not pending or svc.stopping:
        return  # stopping: queued jobs stay pending (reason SYSTEM_STOPPING) for the next daemon
    now = svc.now()
    max_total, ui_reserved = limits_now(svc)
    # 1. UIJs of visible (or just-visible) apps start at once, beyond the limit (see docs/android-semantics.md#concurrency).
    registry = svc.registry
    for app in [a for a in svc.app_jobs if registry.has_bal_privilege(a, now)]:
        for key, status in list(svc.app_jobs.get(app, {}).items()):
            if key in pending.uij():
                start_run(svc, status)
    running = len(svc.run_table)
    ui_running = sum(1 for c in svc.run_table if c.user_visible)
    # 2. Free slots go to the best queued UIJs, then to regular jobs outside the UI reserve.
    free = max_total - running
    if free > 0 and pending.has_uij():
        for status in heapq.nsmallest(
            free, [svc.jobs[k] for k in pending.uij()], key=pending_order
        ):
            start_run(svc, status)
            running += 1
            ui_running += 1
    free_for_regular = max_total - max(0, ui_reserved - ui_running) - running
    if free_for_regular > 0 and pending:
        regular = (svc.jobs[k] for k in pending.regular())
        for status in heapq.nsmallest(free_for_regular, regular, key=pending_order):
            start_run(svc, status)
    # 3. The max-wait bypass: one extra slot for a UIJ while none runs (max-wait bypass).
    if ui_running == 0 and pending.has_uij():
        first = min((svc.jobs[k] for k in pending.uij()), key=pending_order)
        if _waits_too_long(svc, first, now):
            start_run(svc, first)
        elif first.pending_since is not None:
            svc.assign_wakeup = first.pending_since + svc.settings.max_wait_ui_ms
    if pending:
        _make_room(svc, len(pending), now)


def _waits_too_long(svc: SchedulerCore, status: JobStatus, now: int) -> bool:
    ends = [
        c.execution_start + c.min_guarantee_ms
        for c in svc.run_table
        if c.execution_start is not None
    ]
    soonest = min(ends) if ends else now
    waited = now - (status.pending_since if status.pending_since is not None else now)
    limit = svc.settings.max_wait_ui_ms
    return soonest - now >= limit or waited >= limit


def _make_room(svc: SchedulerCore, wanted: int, now: int) -> None:
    stoppable: list[JobServiceContext] = [
        c
        for c in svc.run_table
        if c.verb is Verb.EXECUTING and not c.within_guarantee(now) and not c.cancelled
    ]
    stoppable.sort(key=lambda c: (c.user_visible, c.execution_start or 0))
    for ctx in stoppable[:wanted]:
        stop_run(svc, ctx, StopReason.DEVICE_STATE, InternalStopReason.TIMEOUT)
