"""The app's NotificationManager in the core: notify, cancel, active notifications, and Android's
protections of a running user-initiated job's notification (CTS NotificationTest
``testUserInitiatedJobNotificationBehavior``)."""

from __future__ import annotations

import dataclasses

import pytest

from server.helpers import APP, VISIBLE, make_app, of_type, regular, started, uij
from uidt.errors import InvalidJobError, JobPermissionError
from uidt.job import Notification
from uidt.server import JobSchedulerService, PostNotification, RemoveNotification
from uidt.testing import AppBehaviour, InProcessApps, run_until_idle

NOTE = Notification("transfers", "Hello", "from the app")


def _shown(service: JobSchedulerService) -> dict[int, dict[str, object]]:
    return {r.notification_id: r.notification for r in service.notifications.active(APP)}


def test_notify_posts_and_cancel_removes_outside_any_job(service: JobSchedulerService) -> None:
    service.notification_manager.notify(APP, 7, NOTE)
    (post,) = of_type(service.take_actions(), PostNotification)
    assert (post.record.notification_id, post.record.job, post.record.user_initiated_job) == (
        7,
        None,
        False,
    )
    assert _shown(service)[7]["title"] == "Hello"
    assert service.notification_manager.cancel(APP, 7) is True
    assert of_type(service.take_actions(), RemoveNotification) == [RemoveNotification(APP, 7)]
    assert _shown(service) == {}
    assert service.notification_manager.cancel(APP, 7) is False  # nothing shown: nothing to do


def test_a_notification_for_an_unknown_channel_is_refused(service: JobSchedulerService) -> None:
    with pytest.raises(InvalidJobError, match="invalid notification channel: 'nope'"):
        service.notification_manager.notify(APP, 7, Notification("nope", "Hello"))
    assert service.take_actions() == []
    assert _shown(service) == {}


def test_cancel_of_a_running_uijs_notification_is_ignored(service: JobSchedulerService) -> None:
    started(service)  # a UIJ with notification 1
    service.take_actions()
    assert service.notification_manager.cancel(APP, 1) is False
    assert not of_type(service.take_actions(), RemoveNotification)
    assert 1 in _shown(service)
    # the app may still update it; it stays the UIJ's notification
    service.notification_manager.notify(APP, 1, Notification("transfers", "Updated"))
    (post,) = of_type(service.take_actions(), PostNotification)
    assert post.record.user_initiated_job
    assert service.notification_manager.cancel(APP, 1) is False


def test_cancel_of_a_regular_jobs_notification_succeeds(service: JobSchedulerService) -> None:
    run_id = started(service, regular())
    service.host.on_set_notification(run_id, 5, NOTE, 0)
    service.take_actions()
    assert service.notification_manager.cancel(APP, 5) is True
    assert of_type(service.take_actions(), RemoveNotification) == [RemoveNotification(APP, 5)]
    # the job ends later: nothing more to take down
    service.host.on_job_finished(run_id, False)
    assert not of_type(service.take_actions(), RemoveNotification | PostNotification)


def test_a_channel_is_in_use_only_while_a_uij_runs_with_it(service: JobSchedulerService) -> None:
    apps = InProcessApps(service, lambda _key: AppBehaviour())
    service.schedule(VISIBLE, None, uij())
    run_until_idle(service, apps)
    assert service.notifications.channel_used_by_uij(APP, "transfers")
    with pytest.raises(JobPermissionError, match=r"'transfers'.*running user-initiated job"):
        service.notification_manager.check_channel_deletable(APP, "transfers")
    service.cancel(APP, None, 1)
    for action in service.take_actions():
        apps(action)
    run_until_idle(service, apps)
    assert not service.notifications.channel_used_by_uij(APP, "transfers")
    service.notification_manager.check_channel_deletable(APP, "transfers")  # no error


def test_a_regular_jobs_channel_may_be_deleted(service: JobSchedulerService) -> None:
    run_id = started(service, regular())
    service.host.on_set_notification(run_id, 5, NOTE, 0)
    assert not service.notifications.channel_used_by_uij(APP, "transfers")
    service.notification_manager.check_channel_deletable(APP, "transfers")


def test_an_update_that_drops_a_uijs_channel_keeps_it_while_the_uij_runs(
    service: JobSchedulerService,
) -> None:
    apps = InProcessApps(service, lambda _key: AppBehaviour())
    service.schedule(VISIBLE, None, uij())
    run_until_idle(service, apps)
    (run,) = service.run_table
    service.set_app(make_app(channels=frozenset({"other"})))  # the update drops "transfers"
    # the running job and the app may still use it
    service.host.on_set_notification(run.run_id, 1, Notification("transfers", "still here"), 0)
    service.notification_manager.notify(APP, 2, Notification("transfers", "also fine"))
    assert "transfers" in service.notification_manager.usable_channels(APP)
    service.cancel(APP, None, 1)
    for action in service.take_actions():
        apps(action)
    run_until_idle(service, apps)
    # no UIJ uses it any more: it is gone
    assert "transfers" not in service.notification_manager.usable_channels(APP)
    with pytest.raises(InvalidJobError, match="invalid notification channel"):
        service.notification_manager.notify(APP, 3, Notification("transfers", "too late"))


def test_notify_for_an_app_that_is_not_installed(service: JobSchedulerService) -> None:
    with pytest.raises(InvalidJobError, match="No such app"):
        service.notification_manager.notify("org.example.other", 1, NOTE)


def test_other_apps_notifications_are_not_listed(service: JobSchedulerService) -> None:
    service.set_app(dataclasses.replace(make_app(), package="org.example.other"))
    service.notification_manager.notify("org.example.other", 1, NOTE)
    assert _shown(service) == {}
