"""The execution slot (docs/android-semantics.md#the-execution-slot-and-its-timeouts): verbs, the bind / op / notification timeouts and outcomes."""

from __future__ import annotations

from server.helpers import APP, VISIBLE, of_type, started, uij
from uidt.job import EndPolicy, InternalStopReason, Notification, PendingReason, StopReason
from uidt.server import (
    BindApp,
    JobSchedulerService,
    KillApp,
    PersistJob,
    RecordAnr,
    RemoveJob,
    StartJob,
    StopJob,
    UnbindApp,
)
from uidt.testing import AppBehaviour, FakeClock, InProcessApps, run_until_idle


def test_schedule_binds_then_starts(service: JobSchedulerService) -> None:
    # Given a visible app, When it schedules a UIJ
    service.schedule(VISIBLE, None, uij())
    actions = service.take_actions()
    # Then the core binds the app first
    assert of_type(actions, BindApp) == [BindApp(APP)]
    assert not of_type(actions, StartJob)
    service.host.on_bound(APP)
    start = of_type(service.take_actions(), StartJob)[0]
    assert start.params.is_user_initiated_job()
    assert start.params.network is not None
    assert service.queries.get_pending_job_reason(APP, None, 1) is PendingReason.EXECUTING


def test_bind_timeout_reschedules_without_app_anr(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    service.schedule(VISIBLE, None, uij())
    service.take_actions()
    assert service.next_wakeup() == clock.elapsed() + 18_000
    clock.advance(18_000)
    service.tick()
    actions = service.take_actions()
    assert not of_type(actions, RecordAnr)
    status = service.jobs[next(iter(service.jobs))]
    assert status.last_internal_stop_reason == -1  # it never ran
    assert status.num_failures == 1
    assert status.earliest_run_elapsed == clock.elapsed() + 30_000


def test_bind_failure_is_a_system_stop(service: JobSchedulerService) -> None:
    service.schedule(VISIBLE, None, uij())
    apps = InProcessApps(service, lambda _k: AppBehaviour(bind=False))
    # each failure re-queues; the third system stop makes one attempt and a 30 s backoff
    run_until_idle(service, apps)
    status = next(iter(service.jobs.values()))
    assert status.num_system_stops == 3
    assert status.earliest_run_elapsed is not None


def test_no_answer_to_on_start_job_drops_the_job_with_anr(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    started(service, start_result=None)
    clock.advance(8_000)
    service.tick()
    actions = service.take_actions()
    assert of_type(actions, RecordAnr)[0].reason == "No response to onStartJob"
    assert of_type(actions, RemoveJob)
    assert of_type(actions, KillApp)
    assert service.queries.dump()["anrs"][0]["job_id"] == 1
    assert service.queries.get_pending_job(APP, None, 1) is None
    # dropped, not done: the ended record carries the ANR and does not read as completed
    ended = service.ended[-1]
    assert (ended["state"], ended["completed"]) == ("finished", False)
    assert ended["internal_stop_reason"] == InternalStopReason.ANR


def test_on_start_job_false_drops(service: JobSchedulerService) -> None:
    started(service, start_result=False)
    assert service.queries.get_pending_job(APP, None, 1) is None
    assert service.ended[-1]["state"] == "finished"
    assert service.ended[-1]["completed"] is True  # the app said there was nothing to do


def test_missing_notification_is_an_anr_and_reschedules(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    started(service, notify=False)
    clock.advance(10_000)
    service.tick()
    actions = service.take_actions()
    assert of_type(actions, RecordAnr)[0].reason == "required notification not provided"
    assert not of_type(actions, StopJob)
    status = next(iter(service.jobs.values()))
    assert (status.last_stop_reason, status.last_internal_stop_reason) == (0, 12)
    assert status.num_failures == 1


def test_notification_in_time_prevents_the_anr(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    started(service)
    clock.advance(10_000)
    service.tick()
    assert not of_type(service.take_actions(), RecordAnr)


def test_no_answer_to_on_stop_job_reschedules_keeping_reasons(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    started(service, stop_result=None)
    service.commands.stop(APP, stop_reason=StopReason.DEVICE_STATE, internal_reason=4)
    service.take_actions()
    clock.advance(8_000)
    service.tick()
    actions = service.take_actions()
    assert of_type(actions, RecordAnr)[0].reason == "No response to onStopJob"
    status = next(iter(service.jobs.values()))
    assert status.last_stop_reason == StopReason.DEVICE_STATE
    assert status.num_system_stops == 1


def test_job_finished_false_drops_and_true_reschedules_as_failure(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    run_id = started(service)
    service.host.on_job_finished(run_id, True)
    status = next(iter(service.jobs.values()))
    assert status.num_failures == 1
    assert status.last_internal_stop_reason == InternalStopReason.SUCCESSFUL_FINISH
    assert status.earliest_run_elapsed == clock.elapsed() + 30_000
    assert (
        service.queries.get_pending_job_reason(APP, None, 1)
        is PendingReason.CONSTRAINT_MINIMUM_LATENCY
    )
    clock.advance(30_000)
    service.tick()
    start = of_type(service.take_actions(), StartJob)
    assert start  # the app is still bound: straight to on_start_job
    service.host.on_start_job_result(start[0].run_id, True)
    service.host.on_job_finished(start[0].run_id, False)
    actions = service.take_actions()
    assert of_type(actions, RemoveJob)
    assert of_type(actions, UnbindApp) == [UnbindApp(APP)]


def test_stale_callbacks_are_ignored(service: JobSchedulerService) -> None:
    run_id = started(service)
    service.host.on_job_finished(run_id, False)
    service.take_actions()
    service.host.on_job_finished(run_id, True)
    service.host.on_stop_job_result(run_id, True)
    service.host.on_start_job_result(run_id, True)
    service.host.on_update_transferred_bytes(run_id, 1, 1)
    service.host.on_update_estimated_bytes(run_id, 1, 1)
    service.host.on_set_notification(run_id, 1, Notification("transfers", "x"), EndPolicy.DETACH)
    assert service.take_actions() == []


def test_persisted_records_carry_history(service: JobSchedulerService) -> None:
    service.schedule(VISIBLE, None, uij(persisted=True))
    persist = of_type(service.take_actions(), PersistJob)[0]
    assert persist.record.persisted
    assert persist.record.history[0]["state"] == "scheduled"


def test_cancel_while_binding_never_starts(service: JobSchedulerService) -> None:
    service.schedule(VISIBLE, None, uij())
    service.take_actions()
    service.cancel(APP, None, 1)
    service.host.on_bound(APP)
    assert not of_type(service.take_actions(), StartJob)


def test_cancel_while_starting_stops_after_start(service: JobSchedulerService) -> None:
    started(service, start_result=None)
    run_id = next(iter(service.runs))
    service.cancel(APP, None, 1)
    service.host.on_start_job_result(run_id, True)
    stop = of_type(service.take_actions(), StopJob)[0]
    assert stop.stop_reason is StopReason.CANCELLED_BY_APP
    service.host.on_stop_job_result(run_id, True)
    assert not service.jobs


def test_notification_set_inside_on_start_job_counts(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    started(service, start_result=None)
    run_id = next(iter(service.runs))
    service.host.on_set_notification(run_id, 1, Notification("transfers", "t"), EndPolicy.DETACH)
    service.host.on_start_job_result(run_id, True)
    clock.advance(10_000)
    service.tick()
    assert not of_type(service.take_actions(), RecordAnr)


def test_bound_with_nothing_left_to_run_unbinds(service: JobSchedulerService) -> None:
    service.schedule(VISIBLE, None, uij())
    service.take_actions()
    service.cancel(APP, None, 1)
    service.host.on_bound(APP)
    assert UnbindApp(APP) in service.take_actions()


def test_cumulative_runtime_is_stamped_and_persisted_every_five_minutes(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    # Given a running user-initiated job
    run_id = started(service)
    service.take_actions()
    status = service.queries.find(APP, None, 1)
    assert status is not None
    # When 5 and then 10 minutes pass
    clock.advance(5 * 60_000)
    service.tick()
    stamped = [a.record.cumulative_runtime_ms for a in of_type(service.take_actions(), PersistJob)]
    # Then the run's time so far is in the job's record, persisted (a crash loses little of it)
    assert stamped == [5 * 60_000]
    clock.advance(5 * 60_000)
    service.tick()
    assert status.cumulative_runtime_ms == 10 * 60_000
    # And when the run ends, only the unstamped rest is added (nothing counted twice)
    clock.advance(60_000)
    service.host.on_job_finished(run_id, False)
    assert status.cumulative_runtime_ms == 11 * 60_000
