"""One scenario per row of the stop-path table (docs/android-semantics.md#stop-paths)."""

from __future__ import annotations

import pytest

from server.helpers import (
    APP,
    BACKGROUND,
    SERVICE,
    VISIBLE,
    make_app,
    of_type,
    regular,
    started,
    uij,
)
from uidt.device.state import DeviceState, ThermalStatus
from uidt.job import EndPolicy, InternalStopReason, PendingReason, StopReason
from uidt.job.flags import INTERNAL_FLAG_DEMOTED_BY_USER
from uidt.job.key import JobKey
from uidt.job.notification import Notification, NotificationAction
from uidt.job.reasons import Incomplete
from uidt.server import (
    JobSchedulerService,
    KillApp,
    PostNotification,
    RemoveJob,
    RemoveNotification,
    StartJob,
    StopJob,
)
from uidt.server.outcome import MAX_FAILURE_CHARS, one_line
from uidt.testing import AppBehaviour, FakeClock, InProcessApps, run_until_idle

HOUR = 3_600_000
KEY = JobKey(APP, None, 1)


def only_job(service: JobSchedulerService):  # type: ignore[no-untyped-def]
    assert len(service.jobs) == 1
    return next(iter(service.jobs.values()))


def test_app_cancel_stops_and_drops(service: JobSchedulerService) -> None:
    run_id = started(service)
    service.cancel(APP, None, 1)
    actions = service.take_actions()
    assert of_type(actions, StopJob) == [
        StopJob(run_id, KEY, StopReason.CANCELLED_BY_APP, InternalStopReason.CANCELED)
    ]
    assert of_type(actions, RemoveJob)
    service.host.on_stop_job_result(run_id, True)  # the return value is ignored
    assert not service.jobs


def test_cancel_all_and_in_all_namespaces(service: JobSchedulerService) -> None:
    for ns in (None, "a"):
        for i in (1, 2):
            service.schedule(BACKGROUND, ns, regular(i, requires_charging=True))
    service.cancel_all(APP, "a")
    assert {k.namespace for k in service.jobs} == {None}
    service.cancel_in_all_namespaces(APP)
    assert not service.jobs


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"network": None}, StopReason.CONSTRAINT_CONNECTIVITY),
        ({"charging": False}, StopReason.CONSTRAINT_CHARGING),
        (
            {"battery_not_low": False, "plugged": False, "charging": False},
            StopReason.CONSTRAINT_BATTERY_NOT_LOW,
        ),
        ({"storage_low": True}, StopReason.CONSTRAINT_STORAGE_NOT_LOW),
    ],
)
def test_lost_constraint_stops_and_the_app_decides(
    service: JobSchedulerService, change: dict[str, object], reason: StopReason
) -> None:
    # (losing the battery-not-low state also ends "stable power", so that case asks no charging)
    charging = reason is not StopReason.CONSTRAINT_BATTERY_NOT_LOW
    job = uij(
        requires_charging=charging, requires_battery_not_low=True, requires_storage_not_low=True
    )
    run_id = started(service, job)
    service.note_app_visible(APP, False)
    service.on_device_state(DeviceState().replace(**change))
    stop = of_type(service.take_actions(), StopJob)[0]
    assert (stop.run_id, stop.stop_reason, stop.internal_reason) == (
        run_id,
        reason,
        InternalStopReason.CONSTRAINTS_NOT_SATISFIED,
    )
    service.host.on_stop_job_result(run_id, True)
    status = only_job(service)
    assert (status.num_failures, status.num_system_stops) == (0, 1)
    assert status.earliest_run_elapsed is None  # no backoff wait for a system stop
    # When the constraint returns, the job starts at once
    service.on_device_state(DeviceState())
    assert of_type(service.take_actions(), StartJob)


def test_lost_constraint_and_app_declines_reschedule(service: JobSchedulerService) -> None:
    run_id = started(service)
    service.on_device_state(DeviceState(network=None))
    service.host.on_stop_job_result(run_id, False)
    assert not service.jobs
    ended = service.ended[-1]
    # The spec's state word is "finished", but the record says the work was not completed.
    assert (ended["state"], ended["completed"]) == ("finished", False)
    assert ended["stop_reason"] == StopReason.CONSTRAINT_CONNECTIVITY


def test_max_runtime_12h_is_a_timeout_failure(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    run_id = started(service)
    clock.advance(12 * HOUR)
    service.tick()
    stop = of_type(service.take_actions(), StopJob)[0]
    assert (stop.stop_reason, stop.internal_reason) == (
        StopReason.TIMEOUT,
        InternalStopReason.TIMEOUT,
    )
    service.host.on_stop_job_result(run_id, True)
    status = only_job(service)
    assert status.num_failures == 1
    assert status.cumulative_runtime_ms == 12 * HOUR


def test_past_guarantee_and_slot_wanted_is_device_state_timeout(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    from uidt.settings import Settings

    service.settings = Settings(concurrency_limit=1)
    service.steady_limit = 1
    run_id = started(service, uij(1))
    service.note_app_visible(APP, False)
    clock.advance(HOUR)
    service.schedule(BACKGROUND, None, regular(2))
    assert not of_type(service.take_actions(), StartJob)
    clock.advance(5 * HOUR)
    service.tick()
    stop = of_type(service.take_actions(), StopJob)[0]
    assert (stop.run_id, stop.stop_reason, stop.internal_reason) == (
        run_id,
        StopReason.DEVICE_STATE,
        InternalStopReason.TIMEOUT,
    )


def test_battery_saver_past_guarantee(service: JobSchedulerService, clock: FakeClock) -> None:
    started(service)
    service.on_device_state(DeviceState(power_saver=True))
    assert not of_type(service.take_actions(), StopJob)  # within the 6 h guarantee
    clock.advance(6 * HOUR)
    service.tick()
    stop = of_type(service.take_actions(), StopJob)[0]
    assert (stop.stop_reason, stop.internal_reason) == (
        StopReason.DEVICE_STATE,
        InternalStopReason.TIMEOUT,
    )


def test_thermal_severe_stops_and_waits(service: JobSchedulerService) -> None:
    run_id = started(service)
    service.note_app_visible(APP, False)
    service.on_device_state(DeviceState(thermal=ThermalStatus.SEVERE))
    stop = of_type(service.take_actions(), StopJob)[0]
    assert (stop.stop_reason, stop.internal_reason) == (
        StopReason.DEVICE_STATE,
        InternalStopReason.DEVICE_THERMAL,
    )
    service.host.on_stop_job_result(run_id, True)
    assert service.queries.get_pending_job_reason(APP, None, 1) is PendingReason.DEVICE_STATE
    assert not of_type(service.take_actions(), StartJob)
    service.on_device_state(DeviceState(thermal=ThermalStatus.MODERATE))
    assert of_type(service.take_actions(), StartJob)


def test_visible_apps_jobs_are_not_thermally_restricted(service: JobSchedulerService) -> None:
    started(service)
    service.note_app_visible(APP, True)
    service.on_device_state(DeviceState(thermal=ThermalStatus.CRITICAL))
    assert not of_type(service.take_actions(), StopJob)


def test_task_manager_stop(service: JobSchedulerService) -> None:
    # Given a running UIJ with a notification and a pending regular job of the same app
    apps = InProcessApps(service, lambda _k: AppBehaviour())
    service.schedule(VISIBLE, None, uij(1))
    service.schedule(VISIBLE, None, regular(2, requires_charging=True))
    run_until_idle(service, apps)
    service.note_app_visible(APP, False)
    service.on_device_state(DeviceState(charging=False))
    service.take_actions()
    # When the user presses Stop
    service.user_stop(APP)
    actions = service.take_actions()
    # Then the worker is killed, on_stop_job is not called
    assert of_type(actions, KillApp) == [KillApp(APP, "user stop")]
    assert not of_type(actions, StopJob)
    for action in actions:
        apps(action)
    actions = run_until_idle(service, apps)
    # the UIJ is dropped and its notification removed; the other job is demoted and held
    assert of_type(actions, RemoveNotification)
    assert service.queries.get_pending_job(APP, None, 1) is None
    assert service.ended[-1]["state"] == "user-stopped"
    other = only_job(service)
    assert other.internal_flags & INTERNAL_FLAG_DEMOTED_BY_USER
    assert service.queries.get_pending_job_reason(APP, None, 2) is PendingReason.USER
    assert service.commands.get_job_state(APP, None, 2).output == "user-stopped"  # Android's token
    # ... but the held job is still scheduled: `uidt jobs` lists it as waiting, not as ended
    (held,) = service.queries.jobs_snapshot(APP)
    assert (held["job_id"], held["state"]) == (2, "waiting")
    assert held["pending_reasons"] == [PendingReason.USER]
    # the app becoming visible again lifts the hold
    service.note_app_visible(APP, True)
    assert service.queries.get_pending_job_reason(APP, None, 2) is not PendingReason.USER


def test_task_manager_stop_demotes_running_regular_job(service: JobSchedulerService) -> None:
    started(service, regular(3))
    service.user_stop(APP)
    service.host.on_process_died(APP)
    status = only_job(service)
    assert status.internal_flags & INTERNAL_FLAG_DEMOTED_BY_USER
    assert status.num_failures == 1  # a USER stop counts as a failure


def test_shell_stop_user_ui_stop_drops_uij_regardless(service: JobSchedulerService) -> None:
    run_id = started(service)
    result = service.commands.stop(APP, None, 1, stop_reason=13, internal_reason=11)
    assert result.output == f"Stopping job: #{APP}/1 {SERVICE}"
    assert of_type(service.take_actions(), StopJob)[0].stop_reason is StopReason.USER
    service.host.on_stop_job_result(run_id, True)
    actions = service.take_actions()
    assert of_type(actions, RemoveNotification)
    assert not service.jobs


def test_shell_stop_user_reason_demotes_on_reschedule(service: JobSchedulerService) -> None:
    run_id = started(service)
    service.commands.stop(APP)
    service.host.on_stop_job_result(run_id, True)
    status = only_job(service)
    assert not status.treated_as_uij
    assert status.internal_flags & INTERNAL_FLAG_DEMOTED_BY_USER


def test_uninstall_stops_with_user_uninstall_and_drops(service: JobSchedulerService) -> None:
    run_id = started(service)
    service.remove_app(APP)
    actions = service.take_actions()
    stop = of_type(actions, StopJob)[0]
    assert (stop.stop_reason, stop.internal_reason) == (
        StopReason.USER,
        InternalStopReason.UNINSTALL,
    )
    assert of_type(actions, RemoveNotification)
    service.host.on_stop_job_result(run_id, True)
    assert not service.jobs


def test_low_memory_kill_reschedules_as_system_stop(service: JobSchedulerService) -> None:
    started(service)
    service.host.low_memory_kill(APP)
    assert of_type(service.take_actions(), KillApp) == [KillApp(APP, "low memory")]
    service.host.on_process_died(APP)
    status = only_job(service)
    assert (status.num_failures, status.num_system_stops) == (0, 1)
    assert status.treated_as_uij


def test_process_crash_reschedules(service: JobSchedulerService) -> None:
    started(service)
    service.host.on_process_died(APP)
    status = only_job(service)
    assert status.num_system_stops == 1
    assert of_type(service.take_actions(), StartJob) or service.running


def test_notification_detaches_by_default_and_removes_with_policy(
    service: JobSchedulerService,
) -> None:
    run_id = started(service)
    service.host.on_job_finished(run_id, False)
    post = of_type(service.take_actions(), PostNotification)[0]
    assert not post.record.user_initiated_job  # detached: stays, loses the UIJ flag
    service.schedule(VISIBLE, None, uij(2))
    run_id = started(service, uij(2), end_policy=EndPolicy.REMOVE)
    service.host.on_job_finished(run_id, False)
    assert of_type(service.take_actions(), RemoveNotification)


def test_revoked_permission_after_scheduling_gets_regular_limits(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    started(service)
    ctx = next(iter(service.running.values()))
    assert ctx.min_guarantee_ms == 6 * HOUR
    service.set_app(make_app(revoked=frozenset({"RUN_USER_INITIATED_JOBS"})))
    service.host.on_process_died(APP)
    run_until_idle(service)
    ctx = next(iter(service.running.values()))
    assert (ctx.min_guarantee_ms, ctx.max_runtime_ms) == (10 * 60_000, 30 * 60_000)


def test_moderate_thermal_stops_a_high_regular_job_after_its_guarantee(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    from uidt.job import Priority

    run_id = started(service, regular(1, priority=Priority.HIGH))
    service.note_app_visible(APP, False)
    service.on_device_state(DeviceState(thermal=ThermalStatus.MODERATE))
    assert not of_type(service.take_actions(), StopJob)  # within its 10-min guarantee
    clock.advance(10 * 60_000)
    service.tick()
    stop = of_type(service.take_actions(), StopJob)[0]
    assert (stop.run_id, stop.stop_reason, stop.internal_reason) == (
        run_id,
        StopReason.DEVICE_STATE,
        InternalStopReason.DEVICE_THERMAL,
    )


# -- a failed run (uidt's job_failed) -----------------------------------------------------------


def test_a_failed_run_ends_the_job_as_failed_with_its_reason(
    service: JobSchedulerService,
) -> None:
    run_id = started(service)
    service.host.on_job_failed(run_id, "HTTP 404 Not Found")
    actions = service.take_actions()
    assert of_type(actions, RemoveJob)
    assert not service.jobs
    ended = service.ended[-1]
    assert ended["state"] == "failed"
    assert ended["failure"] == "HTTP 404 Not Found"
    assert ended["history"][-1]["state"] == "failed"
    assert ended["history"][-1]["reason"] == "HTTP 404 Not Found"
    # the final notification detaches and stays
    post = of_type(actions, PostNotification)[0]
    assert not post.record.user_initiated_job


def test_a_job_its_app_ended_incomplete_reads_finished_but_never_completed(
    service: JobSchedulerService,
) -> None:
    """A paused transfer: its app ends the job (it is dropped, ``finished``) without the file
    being there; the record says so, with where it stopped (a status never lies)."""
    run_id = started(service)
    service.host.on_update_estimated_bytes(run_id, 4096, -1)
    service.host.on_update_transferred_bytes(run_id, 1024, 0)
    service.host.on_job_finished(run_id, False, (Incomplete.PAUSED, "paused at\x1b[2J 1 KiB"))
    ended = service.ended[-1]
    assert (ended["state"], ended["completed"], ended["failure"]) == ("finished", False, None)
    assert ended["incomplete"] == {
        "how": "paused",
        "reason": "paused at [2J 1 KiB",  # one printable line
        "bytes_done": 1024,
        "bytes_total": 4096,
    }
    assert ended["history"][-1]["reason"].endswith("ended without completing: paused at [2J 1 KiB")


def test_an_upload_ended_incomplete_says_where_its_upload_stopped(
    service: JobSchedulerService,
) -> None:
    run_id = started(service)
    service.host.on_update_estimated_bytes(run_id, -1, -1)
    service.host.on_update_transferred_bytes(run_id, 0, 300)
    service.host.on_job_finished(run_id, False, (Incomplete.ABANDONED, "gave up"))
    assert service.ended[-1]["incomplete"] == {
        "how": "abandoned",
        "reason": "gave up",
        "bytes_done": 300,
        "bytes_total": None,
    }


def test_a_reschedule_asked_with_an_incomplete_end_keeps_the_job(
    service: JobSchedulerService,
) -> None:
    run_id = started(service)
    service.host.on_job_finished(run_id, True, (Incomplete.PAUSED, "paused"))
    assert service.jobs  # rescheduled: nothing ended
    assert [j["incomplete"] for j in service.queries.jobs_snapshot()] == [None]


def test_a_finished_run_has_no_failure(service: JobSchedulerService) -> None:
    run_id = started(service)
    service.host.on_job_finished(run_id, False)
    assert service.ended[-1]["state"] == "finished"
    assert service.ended[-1]["completed"] is True
    assert service.ended[-1]["failure"] is None
    assert service.ended[-1]["incomplete"] is None
    service.schedule(VISIBLE, None, uij(2))
    assert service.queries.jobs_snapshot()[0]["failure"] is None


def test_an_ended_job_keeps_the_bytes_its_last_run_moved(service: JobSchedulerService) -> None:
    run_id = started(service)
    service.host.on_update_estimated_bytes(run_id, 3_000, -1)
    service.host.on_update_transferred_bytes(run_id, 3_000, 0)
    service.host.on_job_finished(run_id, False)
    ended = service.ended[-1]
    assert (ended["estimated_download_bytes"], ended["transferred_download_bytes"]) == (
        3_000,
        3_000,
    )
    # a scheduled job that is not running reports no transferred bytes, as Android's does
    service.schedule(VISIBLE, None, uij(2))
    assert service.queries.jobs_snapshot()[0]["transferred_download_bytes"] == 0


def test_a_failure_while_the_system_stops_the_run_still_ends_it_failed(
    service: JobSchedulerService,
) -> None:
    run_id = started(service, stop_result=None)
    service.commands.stop(APP, None, 1, stop_reason=7, internal_reason=1)
    service.take_actions()
    service.host.on_job_failed(run_id, "disk full")
    assert not service.jobs  # a failure is not retried, whatever the stop
    assert service.ended[-1]["state"] == "failed"
    assert service.ended[-1]["failure"] == "disk full"


def test_a_stale_or_unknown_run_failing_changes_nothing(service: JobSchedulerService) -> None:
    run_id = started(service)
    service.host.on_job_finished(run_id, False)
    service.host.on_job_failed(run_id, "late")
    service.host.on_job_failed(999, "unknown")
    assert [e["state"] for e in service.ended] == ["finished"]


def test_a_failed_run_of_a_replaced_job_is_not_the_new_jobs_outcome(
    service: JobSchedulerService,
) -> None:
    run_id = started(service, stop_result=None)
    service.schedule(VISIBLE, None, uij(1, extras={"v": 2}))  # replaces the running job
    service.host.on_job_failed(run_id, "cancelled mid-way")
    assert [e["state"] for e in service.ended] == ["cancelled"]
    assert service.queries.jobs_snapshot()[0]["state"] != "failed"


@pytest.mark.parametrize(
    ("reason", "kept"),
    [
        ("HTTP 404\n  Not Found ", "HTTP 404 Not Found"),
        ("", "failed (no reason given)"),
        ("bad\x1b[2J\x07 name", "bad [2J name"),
        ("x" * 1000, "x" * (MAX_FAILURE_CHARS - 1) + "…"),
    ],
)
def test_a_failure_reason_is_kept_as_one_short_line(reason: str, kept: str) -> None:
    assert one_line(reason) == kept


def test_a_run_failing_inside_on_start_job_ends_failed(service: JobSchedulerService) -> None:
    service.schedule(VISIBLE, None, uij())
    actions = run_until_idle(
        service, InProcessApps(service, lambda _k: AppBehaviour(start_result=None))
    )
    [start] = of_type(actions, StartJob)
    service.host.on_job_failed(start.run_id, "bad URL")  # before on_start_job returned
    service.host.on_start_job_result(start.run_id, True)  # ignored: the run is over
    assert not service.jobs
    assert (service.ended[-1]["state"], service.ended[-1]["failure"]) == ("failed", "bad URL")


def test_a_job_that_loses_its_network_again_and_again_starts_at_once_each_time(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    # A flaky link (the bad-day benchmark): the third and later system stops make backoff
    # attempts, but a stop for a missing network leaves no wait once the network is back.
    run_id = started(service)
    for drop in range(1, 6):
        service.on_device_state(DeviceState(network=None))
        stop = of_type(service.take_actions(), StopJob)[0]
        assert stop.stop_reason is StopReason.CONSTRAINT_CONNECTIVITY
        service.host.on_stop_job_result(run_id, True)
        status = only_job(service)
        assert status.num_system_stops == drop
        assert status.earliest_run_elapsed is None
        clock.advance(2_000)
        service.on_device_state(DeviceState())
        (start,) = of_type(service.take_actions(), StartJob)
        run_id = start.run_id
        service.host.on_start_job_result(run_id, True)


def test_an_ended_job_keeps_the_notification_its_last_run_showed(
    service: JobSchedulerService,
) -> None:
    # a transfer paused by the user ends finished, and its ended record still says "paused"
    run_id = started(service)
    paused = Notification(
        "transfers",
        "Download a.iso paused",
        "1 MB of 3 MB",
        actions=[NotificationAction("resume", "Resume")],
    )
    service.host.on_set_notification(run_id, 1, paused, EndPolicy.DETACH)
    service.host.on_job_finished(run_id, False)
    ended = service.ended[-1]
    assert ended["state"] == "finished"
    assert ended["notification"]["title"] == "Download a.iso paused"
    assert ended["notification"]["actions"] == [["resume", "Resume"]]
