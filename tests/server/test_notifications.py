"""The notification contract (docs/android-semantics.md#the-jobs-notification)."""

from __future__ import annotations

import pytest

from server.helpers import APP, VISIBLE, of_type, started, uij
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
