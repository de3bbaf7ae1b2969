"""Admission (docs/android-semantics.md#admission): exceptions vs RESULT_FAILURE, caps, replacement."""

from __future__ import annotations

import pytest

from server.helpers import APP, BACKGROUND, SERVICE, VISIBLE, make_app, regular, uij
from uidt.errors import InvalidJobError, JobLimitError, JobPermissionError
from uidt.job import InternalStopReason, JobInfo, JobWorkItem, NetworkType, StopReason
from uidt.server import (
    RESULT_FAILURE,
    RESULT_SUCCESS,
    Caller,
    JobSchedulerService,
    RemoveJob,
    StartJob,
    StopJob,
)
from uidt.settings import Settings
from uidt.testing import FakeClock, run_until_idle


def test_visible_app_schedules_a_uij(service: JobSchedulerService) -> None:
    assert service.schedule(VISIBLE, None, uij()) == RESULT_SUCCESS
    assert service.queries.get_pending_job(APP, None, 1) == uij()


def test_background_app_gets_result_failure(service: JobSchedulerService) -> None:
    assert service.schedule(BACKGROUND, None, uij()) == RESULT_FAILURE
    assert service.queries.get_pending_job(APP, None, 1) is None


def test_regular_job_from_background_is_fine(service: JobSchedulerService) -> None:
    assert service.schedule(BACKGROUND, None, regular()) == RESULT_SUCCESS


def test_visible_grace_of_10s(service: JobSchedulerService, clock: FakeClock) -> None:
    service.note_app_visible(APP, True)
    service.note_app_visible(APP, False)
    clock.advance(10_000)
    assert service.schedule(BACKGROUND, None, uij(1)) == RESULT_SUCCESS
    clock.advance(1)
    assert service.schedule(BACKGROUND, None, uij(2)) == RESULT_FAILURE


def test_visible_app_may_schedule_any_time(service: JobSchedulerService, clock: FakeClock) -> None:
    service.note_app_visible(APP, True)
    clock.advance(3_600_000)
    assert service.schedule(BACKGROUND, None, uij()) == RESULT_SUCCESS


def test_interaction_grant(service: JobSchedulerService) -> None:
    assert (
        service.schedule(Caller(APP, False, interaction_grant=True), None, uij()) == RESULT_SUCCESS
    )


def test_start_from_background_grant(service: JobSchedulerService) -> None:
    service.set_app(make_app(granted=frozenset({"START_FROM_BACKGROUND"})))
    assert service.schedule(BACKGROUND, None, uij()) == RESULT_SUCCESS


def test_undeclared_permission_raises_permission_error(service: JobSchedulerService) -> None:
    service.set_app(make_app(permissions=frozenset({"RECEIVE_BOOT_COMPLETED"})))
    with pytest.raises(JobPermissionError, match="RUN_USER_INITIATED_JOBS"):
        service.schedule(VISIBLE, None, uij())
    assert isinstance(JobPermissionError("x"), PermissionError)


def test_revoked_app_op_gives_result_failure(service: JobSchedulerService) -> None:
    service.set_app(make_app(revoked=frozenset({"RUN_USER_INITIATED_JOBS"})))
    assert not service.queries.can_run_user_initiated_jobs(APP)
    assert service.schedule(VISIBLE, None, uij()) == RESULT_FAILURE


def test_can_run_user_initiated_jobs(service: JobSchedulerService) -> None:
    assert service.queries.can_run_user_initiated_jobs(APP)
    assert not service.queries.can_run_user_initiated_jobs("org.unknown")


@pytest.mark.parametrize(
    ("app", "match"),
    [
        (make_app(services={}), "non-existent component"),
        (make_app(services={SERVICE: None}), "BIND_JOB_SERVICE"),
        (make_app(permissions=frozenset({"RUN_USER_INITIATED_JOBS"})), "RECEIVE_BOOT_COMPLETED"),
    ],
)
def test_invalid_requests_raise_value_error(
    service: JobSchedulerService, app: object, match: str
) -> None:
    service.set_app(app)  # type: ignore[arg-type]
    with pytest.raises(InvalidJobError, match=match):
        service.schedule(VISIBLE, None, uij(persisted=True))


def test_unknown_app_raises_value_error(service: JobSchedulerService) -> None:
    with pytest.raises(ValueError, match="non-existent"):
        service.schedule(Caller("org.nobody", True), None, uij())


def test_builder_rules_are_rechecked(service: JobSchedulerService) -> None:
    bad = JobInfo(job_id=1, service=SERVICE, user_initiated=True)  # no network, priority DEFAULT
    with pytest.raises(InvalidJobError):
        service.schedule(VISIBLE, None, bad)


@pytest.mark.parametrize(("namespace", "match"), [("   ", "empty"), ("x" * 1001, "1000")])
def test_bad_namespaces(service: JobSchedulerService, namespace: str, match: str) -> None:
    with pytest.raises(InvalidJobError, match=match):
        service.schedule(VISIBLE, namespace, uij())


def test_namespace_is_trimmed_and_separate(service: JobSchedulerService) -> None:
    service.schedule(VISIBLE, " photos ", uij(1))
    service.schedule(VISIBLE, None, uij(1))
    jobs = service.queries.get_pending_jobs_in_all_namespaces(APP)
    assert set(jobs) == {None, "photos"}
    assert service.queries.get_all_pending_jobs(APP, "photos") == [uij(1)]


def test_the_150_job_cap(clock: FakeClock) -> None:
    service = JobSchedulerService(
        clock=clock,
        settings=Settings(concurrency_limit=1),
        device=__import__("uidt.device.state", fromlist=["DeviceState"]).DeviceState(),
        installed_memory_bytes=0,
        apps={APP: make_app()},
    )
    for i in range(151):
        service.schedule(BACKGROUND, None, regular(i))
    with pytest.raises(JobLimitError, match="Apps may not schedule more than 150 distinct jobs"):
        service.schedule(BACKGROUND, None, regular(999))
    assert isinstance(JobLimitError("x"), RuntimeError)
    # replacing an existing id is not a new job
    assert service.schedule(BACKGROUND, None, regular(5, requires_charging=True)) == RESULT_SUCCESS


def test_replacement_stops_the_running_job_with_cancelled_by_app(
    service: JobSchedulerService,
) -> None:
    service.schedule(VISIBLE, None, uij(1))
    run_until_idle(service)
    service.schedule(VISIBLE, None, uij(1, requires_charging=True))
    actions = service.take_actions()
    stops = [a for a in actions if isinstance(a, StopJob)]
    assert stops[0].stop_reason is StopReason.CANCELLED_BY_APP
    assert stops[0].internal_reason is InternalStopReason.CANCELED
    assert any(isinstance(a, RemoveJob) for a in actions)
    assert service.queries.get_pending_job(APP, None, 1) == uij(1, requires_charging=True)


def test_enqueue_fast_path_keeps_the_run_and_clears_demotion(
    service: JobSchedulerService,
) -> None:
    job = uij(1)
    service.schedule(VISIBLE, None, job, JobWorkItem.create({"n": 1}))
    run_until_idle(service)
    service.jobs[next(iter(service.jobs))].internal_flags = 2
    assert service.schedule(VISIBLE, None, job, JobWorkItem.create({"n": 2})) == RESULT_SUCCESS
    actions = service.take_actions()
    assert not any(isinstance(a, StopJob) for a in actions)
    status = next(iter(service.jobs.values()))
    assert len(status.work) == 2
    assert status.internal_flags == 0


def test_work_item_estimates_need_a_network(service: JobSchedulerService) -> None:
    job = JobInfo.Builder(1, SERVICE).build()
    with pytest.raises(InvalidJobError, match="network"):
        service.schedule(VISIBLE, None, job, JobWorkItem.create(download_bytes=10))


def test_work_items_move_to_the_replacement(service: JobSchedulerService) -> None:
    service.schedule(
        BACKGROUND, None, regular(1, requires_charging=True), JobWorkItem.create({"a": 1})
    )
    service.schedule(BACKGROUND, None, regular(1, required_network_type=NetworkType.UNMETERED))
    status = next(iter(service.jobs.values()))
    assert [w.extras for w in status.work] == [{"a": 1}]


def test_invisible_notice_without_visibility_gives_no_grace(service: JobSchedulerService) -> None:
    service.note_app_visible(APP, False)
    assert service.schedule(BACKGROUND, None, uij()) == RESULT_FAILURE


def test_replacement_starts_once_the_old_run_ends(service: JobSchedulerService) -> None:
    service.schedule(VISIBLE, None, uij(1))
    run_until_idle(service)
    old_run = next(iter(service.runs))
    service.schedule(VISIBLE, None, uij(1, requires_battery_not_low=True))
    service.take_actions()
    service.host.on_stop_job_result(old_run, True)
    starts = [a for a in service.take_actions() if isinstance(a, StartJob)]
    assert len(starts) == 1
    assert starts[0].run_id != old_run
    status = next(iter(service.jobs.values()))
    assert status.num_failures == 0
