"""The daemon is stopping (``SystemStopping``): the core starts nothing more, and says why.

A status never lies: a job the daemon will not run before it exits reads ``pending`` (ready)
or ``waiting``, with the reason ``SYSTEM_STOPPING``, never ``active``. Runs already under way
still get their stop, and the jobs stay persisted for the next daemon.
"""

from __future__ import annotations

from server.helpers import APP, BACKGROUND, VISIBLE, of_type, regular, started, uij
from uidt.device.state import DeviceState
from uidt.job import PendingReason
from uidt.job.reasons import InternalStopReason, StopReason
from uidt.server import BindApp, JobSchedulerService, PersistJob, StartJob, StopJob
from uidt.server import events as ev
from uidt.server.jobstate import JobState
from uidt.testing import run_until_idle


def _state(service: JobSchedulerService, job_id: int) -> JobState:
    return next(s.state for k, s in service.jobs.items() if k.job_id == job_id)


def test_a_job_scheduled_while_stopping_stays_pending_with_the_reason(
    service: JobSchedulerService,
) -> None:
    service.handle(ev.SystemStopping())
    service.handle(ev.Schedule(VISIBLE, None, uij(1, persisted=True)))
    actions = run_until_idle(service)
    assert of_type(actions, BindApp) == []
    assert of_type(actions, StartJob) == []
    assert _state(service, 1) is JobState.PENDING
    assert service.queries.get_pending_job_reasons(APP, None, 1) == [PendingReason.SYSTEM_STOPPING]
    # still written through as a persisted job: the next daemon loads and runs it
    (written,) = of_type(actions, PersistJob)
    assert written.record.key.job_id == 1
    assert written.record.job.persisted


def test_a_waiting_job_names_the_stop_after_its_constraints(
    service: JobSchedulerService,
) -> None:
    service.on_device_state(DeviceState(charging=False))
    service.handle(ev.SystemStopping())
    service.schedule(BACKGROUND, None, regular(2, requires_charging=True))
    assert _state(service, 2) is JobState.WAITING
    assert service.queries.get_pending_job_reasons(APP, None, 2) == [
        PendingReason.CONSTRAINT_CHARGING,
        PendingReason.SYSTEM_STOPPING,
    ]


def test_a_queued_job_is_not_started_once_stopping_begins(service: JobSchedulerService) -> None:
    service.on_device_state(DeviceState(charging=False))
    service.schedule(BACKGROUND, None, regular(3, requires_charging=True))
    service.handle(ev.SystemStopping())
    service.on_device_state(DeviceState(charging=True))  # it becomes ready now
    assert of_type(run_until_idle(service), StartJob) == []
    assert _state(service, 3) is JobState.PENDING


def test_running_jobs_still_get_their_stop_and_are_not_restarted(
    service: JobSchedulerService,
) -> None:
    run_id = started(service)
    assert _state(service, 1) is JobState.ACTIVE
    service.handle(ev.SystemStopping())
    service.handle(ev.StopAll(StopReason.DEVICE_STATE, InternalStopReason.UNKNOWN))
    actions = run_until_idle(service)  # the app answers on_stop_job: reschedule
    assert [a.run_id for a in of_type(actions, StopJob)] == [run_id]
    assert of_type(actions, StartJob) == []
    assert _state(service, 1) is JobState.PENDING
    assert service.queries.get_pending_job_reasons(APP, None, 1) == [PendingReason.SYSTEM_STOPPING]
    assert service.running == {}


def test_stopping_twice_changes_nothing(service: JobSchedulerService) -> None:
    service.handle(ev.SystemStopping())
    service.handle(ev.SystemStopping())
    service.schedule(VISIBLE, None, uij(4))
    assert _state(service, 4) is JobState.PENDING
