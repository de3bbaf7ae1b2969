"""The apps' NotificationManager against a real daemon, with a real worker calling it from inside
a running job (Android's CTS ``NotificationTest.testUserInitiatedJobNotificationBehavior``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt import (
    JobInfo,
    JobScheduler,
    NetworkType,
    Notification,
    NotificationChannel,
    NotificationManager,
)

from .conftest import APPS_DIR, Daemon, read_log, running_daemon, wait_for

NOTIFIER_DIR = APPS_DIR / "notifier"
NOTIFIER = "org.example.notifier"
SERVICE = "notifier_app:NotifierService"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running_daemon(tmp_path_factory.mktemp("home")) as d:
        d.install(NOTIFIER_DIR)
        yield d


def _job(daemon: Daemon, job_id: int, log: Path, *, user_initiated: bool, channel: str) -> JobInfo:
    builder = JobInfo.Builder(job_id, SERVICE).set_extras(
        {"home": str(daemon.home), "log": str(log), "channel": channel}
    )
    if user_initiated:
        builder = (
            builder.set_user_initiated(True)
            .set_required_network_type(NetworkType.ANY)
            .set_estimated_network_bytes(1000, 0)
        )
    return builder.build()


def _run(daemon: Daemon, job: JobInfo, log: Path) -> list[str]:
    scheduler = JobScheduler(NOTIFIER, home=daemon.home)
    with scheduler.activity():
        assert scheduler.schedule(job) == JobScheduler.RESULT_SUCCESS
    return wait_for(
        lambda: (lines := read_log(log)) and len(lines) == 3 and lines,
        what=f"job {job.job_id} to try cancel and delete",
    )


def _manager(daemon: Daemon) -> NotificationManager:
    return NotificationManager(NOTIFIER, home=daemon.home)


def test_a_running_uijs_notification_and_channel_are_protected(
    daemon: Daemon, tmp_path: Path
) -> None:
    log = tmp_path / "app.log"
    lines = _run(daemon, _job(daemon, 1, log, user_initiated=True, channel="created"), log)
    assert lines[0] == "after cancel: shown"
    assert lines[1].startswith("delete channel: PermissionError: ")
    assert "running user-initiated job" in lines[1]
    assert lines[2] == "channel created: kept"
    (active,) = [n for n in _manager(daemon).get_active_notifications() if n.id == 1]
    assert active.user_initiated_job
    assert active.job_id == 1
    # once the job is gone the channel may go; the job leaves the list at the cancel, its run
    # ends a moment later (the app's on_stop_job answers): until then the channel is in use
    JobScheduler(NOTIFIER, home=daemon.home).cancel(1)
    wait_for(
        lambda: (
            not daemon.jobs(include_ended=False)
            and not [n for n in _manager(daemon).get_active_notifications() if n.user_initiated_job]
        ),
        what="the job's run to end",
    )
    _manager(daemon).delete_notification_channel("created")
    assert "created" not in [c.id for c in _manager(daemon).get_notification_channels()]


def test_a_regular_jobs_notification_and_channel_are_not(daemon: Daemon, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    lines = _run(daemon, _job(daemon, 2, log, user_initiated=False, channel="created"), log)
    assert lines == ["after cancel: gone", "delete channel: deleted", "channel created: gone"]
    JobScheduler(NOTIFIER, home=daemon.home).cancel(2)


def test_an_update_that_drops_a_uijs_channel_keeps_it_until_the_job_ends(
    daemon: Daemon, tmp_path: Path
) -> None:
    log = tmp_path / "app.log"
    _run(daemon, _job(daemon, 3, log, user_initiated=True, channel="declared"), log)
    manager = _manager(daemon)
    # the app is updated: its new manifest no longer declares "declared"
    (tmp_path / "uidt.toml").write_text(
        f'package = "{NOTIFIER}"\n'
        'permissions = ["RUN_USER_INITIATED_JOBS"]\n'
        f'root = "{NOTIFIER_DIR}"\n'
        "[[services]]\n"
        f'name = "{SERVICE}"\n'
        'permission = "BIND_JOB_SERVICE"\n'
    )
    daemon.install(tmp_path)
    try:
        # the running job's channel still works, for the job's notification and the app's own
        manager.notify(30, Notification("declared", "still usable while the UIJ runs"))
        assert 30 in [n.id for n in manager.get_active_notifications()]
        with pytest.raises(PermissionError):
            manager.delete_notification_channel("declared")
        JobScheduler(NOTIFIER, home=daemon.home).cancel(3)
        wait_for(lambda: not daemon.jobs(include_ended=False), what="the job to end")
        # no UIJ uses it any more: it is gone
        with pytest.raises(ValueError, match="invalid notification channel: 'declared'"):
            manager.notify(31, Notification("declared", "too late"))
    finally:
        daemon.install(NOTIFIER_DIR)
        manager.cancel(30)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda m: m.notify(1, Notification("nope", "x")),
            ValueError,
            "invalid notification channel: 'nope'",
        ),
        (lambda m: m.delete_notification_channel("nope"), ValueError, "No such notification"),
        (lambda m: m.delete_notification_channel("declared"), ValueError, "manifest"),
        (
            lambda m: m.create_notification_channel(NotificationChannel("bad\nid", "x")),
            ValueError,
            "control characters",
        ),
    ],
)
def test_bad_input_is_one_clear_error_and_changes_nothing(
    daemon: Daemon, call: object, error: type[Exception], match: str
) -> None:
    manager = _manager(daemon)
    before = (manager.get_active_notifications(), manager.get_notification_channels())
    with pytest.raises(error, match=match):
        call(manager)  # type: ignore[operator]
    assert (manager.get_active_notifications(), manager.get_notification_channels()) == before


def test_the_async_manager_is_the_same(daemon: Daemon) -> None:
    import asyncio

    from uidt import AsyncNotificationManager

    async def go() -> list[int]:
        manager = AsyncNotificationManager(NOTIFIER, home=daemon.home)
        await manager.notify(40, Notification("declared", "async"))
        shown = [n.id for n in await manager.get_active_notifications()]
        await manager.cancel(40)
        return shown

    assert 40 in asyncio.run(go())
    assert 40 not in [n.id for n in _manager(daemon).get_active_notifications()]
