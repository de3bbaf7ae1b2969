"""A job whose lease another host took (shared store, docs/fleet.md) stops here at once."""

from __future__ import annotations

from server.helpers import APP, BACKGROUND, of_type, regular, started
from uidt.job import InternalStopReason, StopReason
from uidt.job.key import JobKey
from uidt.server import JobSchedulerService, JobStateChanged, PersistJob, RemoveJob, StopJob
from uidt.server import events as ev

KEY = JobKey(APP, None, 1)


def test_a_running_job_stops_with_system_processing_and_leaves_this_host(
    service: JobSchedulerService,
) -> None:
    run_id = started(service)
    service.handle(ev.LeaseLost(KEY))
    actions = service.take_actions()
    assert of_type(actions, StopJob) == [
        StopJob(run_id, KEY, StopReason.SYSTEM_PROCESSING, InternalStopReason.CANCELED)
    ]
    assert of_type(actions, RemoveJob) == [RemoveJob(KEY)]
    assert not service.jobs
    service.host.on_stop_job_result(run_id, True)  # the app asks to reschedule: not here
    assert not service.jobs
    assert of_type(service.take_actions(), PersistJob) == []


def test_it_never_reads_as_ended_here(service: JobSchedulerService) -> None:
    started(service)
    ended = len(service.ended)
    service.handle(ev.LeaseLost(KEY))
    # not cancelled, finished nor failed: the job goes on on the host that took it
    assert len(service.ended) == ended
    changes = of_type(service.take_actions(), JobStateChanged)
    assert [(c.key, c.state) for c in changes] == [(KEY, "lease-lost")]


def test_a_waiting_job_is_dropped_without_a_stop(service: JobSchedulerService) -> None:
    service.schedule(BACKGROUND, None, regular(1, requires_charging=True))
    service.take_actions()
    service.handle(ev.LeaseLost(KEY))
    actions = service.take_actions()
    assert of_type(actions, StopJob) == []
    assert not service.jobs


def test_an_unknown_job_is_ignored(service: JobSchedulerService) -> None:
    service.handle(ev.LeaseLost(JobKey(APP, None, 99)))
    assert service.take_actions() == []
