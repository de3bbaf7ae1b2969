"""The notification contract (docs/android-semantics.md#the-jobs-notification)."""

from __future__ import annotations

import pytest

from server.helpers import APP, VISIBLE, of_type, started, uij
from uidt.device.state import DeviceState
from uidt.errors import InvalidJobError
from uidt.job import EndPolicy, Notification
from uidt.job.key import JobKey
from uidt.server import JobSchedulerService, PostNotification, RemoveNotification
from uidt.store.record import NotificationRecord
from uidt.testing import run_until_idle


def test_undeclared_channel_and_bad_policy_raise(service: JobSchedulerService) -> None:
    run_id = started(service, notify=False)
    with pytest.raises(InvalidJobError, match="invalid notification channel"):
        service.host.on_set_notification(run_id, 1, Notification("nope", "t"), EndPolicy.DETACH)
    with pytest.raises(InvalidJobError, match="invalid job end notification policy"):
        service.host.on_set_notification(run_id, 1, Notification("transfers", "t"), 7)
    with pytest.raises(InvalidJobError, match="must be a Notification"):
        service.host.on_set_notification(run_id, 1, "x", 0)  # type: ignore[arg-type]


def test_changing_the_id_detaches_the_old_one(service: JobSchedulerService) -> None:
    run_id = started(service)
    service.host.on_set_notification(
        run_id, 2, Notification("transfers", "second"), EndPolicy.REMOVE
    )
    posts = of_type(service.take_actions(), PostNotification)
    assert [(p.record.notification_id, p.record.user_initiated_job) for p in posts] == [
        (1, False),
        (2, True),
    ]
    dump = service.queries.dump()["notifications"]
    assert {n["id"] for n in dump} == {1, 2}
    assert service.queries.jobs_snapshot()[0]["notification"]["title"] == "second"


def test_shared_id_last_job_decides(service: JobSchedulerService) -> None:
    service.schedule(VISIBLE, None, uij(1))
    service.schedule(VISIBLE, None, uij(2))
    run_until_idle(service)
    runs = sorted(service.runs)
    service.host.on_job_finished(runs[0], False)
    assert not of_type(service.take_actions(), RemoveNotification)
    service.host.on_job_finished(runs[1], False)
    posts = of_type(service.take_actions(), PostNotification)
    assert posts[-1].record.user_initiated_job is False
    assert posts[-1].record.job is None


def test_uninstall_removes_every_notification(service: JobSchedulerService) -> None:
    run_id = started(service)
    service.host.on_job_finished(run_id, False)  # detached, still shown
    service.take_actions()
    service.remove_app(APP)
    assert of_type(service.take_actions(), RemoveNotification)
    assert service.queries.dump()["notifications"] == []


# -- after a daemon restart -------------------------------------------------------------------


def _record(notification_id: int, *, attached: bool) -> NotificationRecord:
    return NotificationRecord(
        app=APP,
        notification_id=notification_id,
        notification=Notification("transfers", f"n{notification_id}").to_dict(),
        job=JobKey(APP, None, notification_id) if attached else None,
        user_initiated_job=attached,
        updated_utc_ms=1_000,
    )


def test_a_restart_restores_detached_notifications_and_drops_those_of_cut_runs(
    service: JobSchedulerService,
) -> None:
    service.load([], [_record(1, attached=False), _record(2, attached=True)])
    # The ended job's notification ("Download X complete") is shown again, as it was.
    assert service.notifications.active(APP) == [_record(1, attached=False)]
    assert [n["id"] for n in service.queries.dump()["notifications"]] == [1]
    # The run that showed notification 2 died with the old daemon: its progress is no longer
    # true. It is taken down (also in the store); the job, if it runs again, posts it again.
    assert of_type(service.take_actions(), RemoveNotification) == [RemoveNotification(APP, 2)]


def test_a_restored_notification_is_the_apps_to_cancel(service: JobSchedulerService) -> None:
    service.load([], [_record(1, attached=False)])
    removed, actions = service.notifications.cancel_for_app(APP, 1)
    assert removed
    assert actions == [RemoveNotification(APP, 1)]


def test_a_job_that_runs_again_after_the_restart_posts_its_notification_again(
    service: JobSchedulerService,
) -> None:
    service.load([], [_record(1, attached=True)])
    service.take_actions()
    started(service, uij(1))
    (shown,) = service.notifications.active(APP)
    assert shown.user_initiated_job
    assert shown.job == JobKey(APP, None, 1)


# -- between runs: the notification the last run left stays with the job -----------------------

RETRY_TITLE = "Download x.bin waiting to retry"
RETRY_TEXT = "retrying: cannot reach 127.0.0.1:9 (connection refused)"


def _waiting_to_retry(
    service: JobSchedulerService, job_id: int = 1, text: str = RETRY_TEXT
) -> None:
    """Job ``job_id`` ran, posted ``text`` (DETACH) and asked to run again after its backoff."""
    run_id = started(service, uij(job_id), notify=False)
    service.host.on_set_notification(
        run_id, job_id, Notification("transfers", RETRY_TITLE, text, ongoing=False),
        EndPolicy.DETACH,
    )  # fmt: skip
    service.host.on_job_finished(run_id, True)
    run_until_idle(service)


def test_a_job_waiting_for_its_backoff_keeps_the_notification_its_run_left(
    service: JobSchedulerService,
) -> None:
    _waiting_to_retry(service)
    (job,) = service.queries.jobs_snapshot()
    assert job["state"] == "waiting"
    assert job["notification"] is not None
    assert (job["notification"]["id"], job["notification"]["title"]) == (1, RETRY_TITLE)
    assert job["notification"]["text"] == RETRY_TEXT
    # dumpsys's job block reads the same record
    assert service.queries.dump()["jobs"][0]["notification"]["text"] == RETRY_TEXT


def test_the_apps_update_of_the_left_notification_shows_and_its_cancel_clears_it(
    service: JobSchedulerService,
) -> None:
    _waiting_to_retry(service)
    service.notification_manager.notify(
        APP, 1, Notification("transfers", RETRY_TITLE, "retrying: the server answered 503")
    )
    assert service.queries.jobs_snapshot()[0]["notification"]["text"].endswith("503")
    assert service.notification_manager.cancel(APP, 1)
    assert service.queries.jobs_snapshot()[0]["notification"] is None


def test_another_run_that_takes_the_id_takes_the_notification_from_the_waiting_job(
    service: JobSchedulerService,
) -> None:
    _waiting_to_retry(service)
    run_id = started(service, uij(2), notify=False)
    service.host.on_set_notification(
        run_id, 1, Notification("transfers", "job 2"), EndPolicy.DETACH
    )
    jobs = {j["job_id"]: j for j in service.queries.jobs_snapshot()}
    assert jobs[1]["notification"] is None
    assert jobs[2]["notification"]["title"] == "job 2"


def test_a_password_in_the_reason_shows_nowhere(service: JobSchedulerService) -> None:
    _waiting_to_retry(service, text="retrying: cannot reach http://ann:hunter2@127.0.0.1:9/x")
    shown = repr(service.queries.jobs_snapshot()) + repr(service.queries.dump())
    assert "hunter2" not in shown
    assert "http://ann:***@127.0.0.1:9/x" in shown  # masked, the rest kept


@pytest.mark.parametrize("by_user", [False, True])
def test_a_job_cancelled_while_waiting_takes_its_retrying_notification_with_it(
    service: JobSchedulerService, by_user: bool
) -> None:
    _waiting_to_retry(service)
    if by_user:  # uidt cmd cancel
        service.commands.cancel(APP, None, 1)
    else:  # JobScheduler.cancel, the Task Manager's Cancel
        service.cancel(APP, None, 1)
    assert RemoveNotification(APP, 1) in service.take_actions()
    assert service.queries.jobs_snapshot() == []
    assert service.queries.dump()["notifications"] == []
    (ended,) = service.queries.jobs_snapshot(include_ended=True)
    assert ended["state"] == "cancelled"
    assert "retrying" not in repr(ended)


def test_a_replaced_waiting_job_does_not_show_the_old_runs_reason(
    service: JobSchedulerService,
) -> None:
    _waiting_to_retry(service)
    service.on_device_state(DeviceState(plugged=False, charging=False))
    service.schedule(VISIBLE, None, uij(1, requires_charging=True))  # waits for the charger
    run_until_idle(service)
    (job,) = service.queries.jobs_snapshot()
    assert job["state"] != "active"
    assert job["notification"] is None


def test_a_job_replaced_while_running_does_not_show_the_old_runs_notification(
    service: JobSchedulerService,
) -> None:
    started(service, uij(1))  # its run posts "job 1" (DETACH)
    service.on_device_state(DeviceState(plugged=False, charging=False))
    service.schedule(VISIBLE, None, uij(1, requires_charging=True))
    run_until_idle(service)
    (job,) = service.queries.jobs_snapshot()
    assert job["state"] != "active"
    assert job["notification"] is None
    assert [n["title"] for n in service.queries.dump()["notifications"]] == ["job 1"]
