"""The notification contract (docs/android-semantics.md#the-jobs-notification)."""

from __future__ import annotations

import pytest

from server.helpers import APP, VISIBLE, of_type, started, uij
from uidt.errors import InvalidJobError
from uidt.job import EndPolicy, Notification
from uidt.server import JobSchedulerService, PostNotification, RemoveNotification
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
