"""The job state machine: the transition table, the one derivation, and a core that keeps them."""

from __future__ import annotations

import pytest

from server.helpers import APP, BACKGROUND, VISIBLE, regular, started, uij
from uidt.device.state import DeviceState
from uidt.errors import IllegalTransitionError, UidtError
from uidt.server import JobSchedulerService
from uidt.server.jobstate import TRANSITIONS, JobState, check_transition, derive
from uidt.testing import InProcessApps, run_until_idle


def test_json_strings_are_kept() -> None:
    assert [s.value for s in JobState] == [
        "waiting",
        "ready",
        "pending",
        "active",
        "finished",
        "failed",
        "cancelled",
        "user-stopped",
    ]


def test_an_ended_job_never_comes_back() -> None:
    for state in JobState:
        if state.terminal:
            assert TRANSITIONS[state] == frozenset()
            for other in JobState:
                if other is not state:
                    with pytest.raises(IllegalTransitionError):
                        check_transition(state, other)


@pytest.mark.parametrize("ended", [JobState.FINISHED, JobState.FAILED, JobState.USER_STOPPED])
@pytest.mark.parametrize("before", [JobState.WAITING, JobState.READY, JobState.PENDING])
def test_only_a_job_that_ran_finishes_or_fails(before: JobState, ended: JobState) -> None:
    with pytest.raises(IllegalTransitionError):
        check_transition(before, ended)
    assert check_transition(JobState.ACTIVE, ended) is ended


def test_a_job_starts_only_from_the_pending_queue() -> None:
    with pytest.raises(IllegalTransitionError):
        check_transition(JobState.WAITING, JobState.ACTIVE)
    with pytest.raises(IllegalTransitionError):
        check_transition(JobState.READY, JobState.ACTIVE)
    assert check_transition(JobState.PENDING, JobState.ACTIVE) is JobState.ACTIVE


def test_illegal_transition_is_a_uidt_error() -> None:
    assert issubclass(IllegalTransitionError, UidtError)


def test_derive() -> None:
    assert derive(running=True, queued=False, ready=False) is JobState.ACTIVE
    assert derive(running=False, queued=True, ready=True) is JobState.PENDING
    assert derive(running=False, queued=False, ready=True) is JobState.READY
    assert derive(running=False, queued=False, ready=False) is JobState.WAITING


def test_core_states_follow_the_job(service: JobSchedulerService) -> None:
    service.on_device_state(DeviceState(charging=False))
    service.schedule(BACKGROUND, None, regular(1, requires_charging=True))
    assert service.jobs[service.queries.find(APP, None, 1).key].state is JobState.WAITING  # type: ignore[union-attr]
    run_id = started(service, uij(2))
    status = service.runs[run_id].status
    assert status.state is JobState.ACTIVE
    service.host.on_job_finished(run_id, False)
    assert status.state is JobState.FINISHED
    assert service.ended[-1]["state"] == "finished"
    assert [h["state"] for h in service.ended[-1]["history"]][-1] == "finished"


def test_a_waiting_job_cannot_be_ended_as_finished(service: JobSchedulerService) -> None:
    """Hostile: a bug that tries to end a job that never ran is refused; nothing is lost."""
    service.on_device_state(DeviceState(charging=False))
    service.schedule(BACKGROUND, None, regular(1, requires_charging=True))
    status = service.queries.find(APP, None, 1)
    assert status is not None
    with pytest.raises(IllegalTransitionError):
        service.end(status, JobState.FINISHED, "lie")
    with pytest.raises(IllegalTransitionError):
        service.end(status, JobState.PENDING, "not an end")
    assert service.queries.find(APP, None, 1) is status
    assert status.state is JobState.WAITING
    assert not service.ended


def test_snapshot_state_is_the_status_state(service: JobSchedulerService) -> None:
    service.schedule(VISIBLE, None, uij(1))
    service.schedule(BACKGROUND, None, regular(2, requires_charging=True))
    run_until_idle(service, InProcessApps(service))
    for job in service.queries.jobs_snapshot():
        status = service.queries.find(job["app"], job["namespace"], job["job_id"])
        assert status is not None
        assert job["state"] == status.state.value


def test_a_replacement_is_not_active_while_the_run_it_replaced_stops(
    service: JobSchedulerService,
) -> None:
    """Hostile: the app replaces a running job; the old run still stops under the same key."""
    service.schedule(VISIBLE, None, uij(1))
    run_until_idle(service)
    service.schedule(VISIBLE, None, uij(1, requires_charging=True))
    service.take_actions()  # the StopJob of the old run is not answered yet
    (job,) = service.queries.jobs_snapshot()
    assert job["state"] != "active"
    assert "active" not in service.commands.get_job_state(APP, None, 1).output.split()
    assert service.ended[-1]["state"] == "cancelled"


def test_invariants_catch_a_state_that_lies(service: JobSchedulerService) -> None:
    from uidt.server.invariants import broken_invariants

    service.on_device_state(DeviceState(charging=False))
    service.schedule(BACKGROUND, None, regular(1, requires_charging=True))
    status = service.queries.find(APP, None, 1)
    assert status is not None
    assert broken_invariants(service) == []
    status.state = JobState.PENDING  # a lie: it is not queued
    assert broken_invariants(service) == [f"{status.key} reads pending but is waiting"]
    status.state = JobState.WAITING
