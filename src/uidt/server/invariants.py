"""The core's cross-part invariants, checked together (tests check them after every scenario).

Each part checks its own (:meth:`PendingQueue.broken_invariants`,
:meth:`RunTable.broken_invariants`); this module adds the ones that span parts: the queue holds
only scheduled jobs, a job's state is what its facts say, the per-app index matches the jobs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.server.controllers.tracking import Reading
from uidt.server.jobstate import derive

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore


def broken_invariants(core: SchedulerCore) -> list[str]:
    """Every invariant that does not hold now (empty when the core is consistent)."""
    jobs = core.jobs
    problems = core.pending.broken_invariants(jobs.keys())
    problems += core.run_table.broken_invariants()
    indexed = {key for app_jobs in core.app_jobs.values() for key in app_jobs}
    if indexed != set(jobs):
        problems.append("the per-app index does not match the scheduled jobs")
    for status in core.dependents.concerned(set(Reading)):
        if jobs.get(status.key) is not status:
            problems.append(f"{status.key} is tracked but not scheduled as tracked")
    for key, status in jobs.items():
        if status.state.terminal:
            problems.append(f"{key} is scheduled but {status.state.value}")
        if key in core.dirty:
            continue
        state = derive(
            running=core.run_table.runs_job(status),
            queued=key in core.pending,
            ready=status.ready,
        )
        if status.state is not state:
            problems.append(f"{key} reads {status.state.value} but is {state.value}")
    for ctx in core.run_table:
        if jobs.get(ctx.status.key) is not ctx.status and not ctx.cancelled:
            problems.append(f"run {ctx.run_id} of {ctx.status.key} runs a job that is gone")
    return problems
