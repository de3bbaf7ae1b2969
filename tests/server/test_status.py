"""JobStatus: required bits from the JobInfo, overrides, UIJ treatment, estimates."""

from __future__ import annotations

from server.helpers import APP, regular, uij
from uidt.job import JobInfo
from uidt.job.flags import INTERNAL_FLAG_DEMOTED_BY_SYSTEM_UIJ
from uidt.job.key import JobKey
from uidt.server.status import Bit, Constraint, JobStatus, Override, key_order


def status_of(job: JobInfo) -> JobStatus:
    return JobStatus(JobKey(APP, None, 1), job, enqueue_elapsed=0)


def test_overrides() -> None:
    status = status_of(uij(requires_charging=True))
    assert status.unsatisfied() == status.required
    status.override = Override.SOFT
    assert status.unsatisfied() == Constraint.CONNECTIVITY | Constraint.BACKGROUND_NOT_RESTRICTED
    status.override = Override.FULL
    assert status.unsatisfied() == Constraint.BACKGROUND_NOT_RESTRICTED  # implicit: never lifted
    status.satisfied = Bit.BACKGROUND_NOT_RESTRICTED
    assert status.unsatisfied() == Constraint.NONE


def test_required_bits_and_flag_view() -> None:
    status = status_of(uij(requires_storage_not_low=True))
    assert Constraint(status.required) == (
        Constraint.CONNECTIVITY
        | Constraint.STORAGE_NOT_LOW
        | Constraint.TIMING_DELAY
        | Constraint.BACKGROUND_NOT_RESTRICTED
    )
    assert Bit.CONNECTIVITY == Constraint.CONNECTIVITY


def test_demotion_caps_priority_and_ends_uij_treatment() -> None:
    status = status_of(uij())
    assert status.treated_as_uij
    assert status.effective_priority == 500
    status.internal_flags |= INTERNAL_FLAG_DEMOTED_BY_SYSTEM_UIJ
    assert not status.treated_as_uij
    assert status.effective_priority == 400
    assert status_of(regular()).effective_priority == 300


def test_key_order_puts_the_default_namespace_first() -> None:
    keys = [JobKey("a", "x", 1), JobKey("a", None, 2), JobKey("a", None, 1)]
    assert sorted(keys, key=key_order) == [keys[2], keys[1], keys[0]]
