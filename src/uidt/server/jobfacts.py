"""Small facts about one job the check pass and the run lifecycle both need."""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.job.reasons import PendingReason
from uidt.server import limits
from uidt.server.status import JobStatus

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore


def max_runtime_for(core: SchedulerCore, status: JobStatus) -> int:
    """The maximum runtime a run of this job would get now."""
    return limits.max_runtime_ms(
        core.settings,
        treated_as_uij=status.treated_as_uij,
        uij_ok=core.registry.can_run_user_initiated_jobs(status.key.app),
        in_quota=core.timeout_quota.in_quota(status.key.app, core.now()),
    )


def set_reasons(core: SchedulerCore, status: JobStatus, reasons: tuple[PendingReason, ...]) -> None:
    """Record new pending reasons; changes within the same instant are coalesced."""
    if reasons == status.pending_reasons:
        return
    status.pending_reasons = reasons
    utc = core.utc_ms()
    history = status.reasons_history
    if history and history[-1][0] == utc:
        history.pop()
    if not history or history[-1][1] != reasons:
        history.append((utc, reasons))
