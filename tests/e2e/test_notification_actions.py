"""Notification actions end to end: a click (command line, control API) reaches the app's
``notification_receiver`` in a real worker, gives it a user-interaction grant (it schedules a
user-initiated job from the background), and every bad click is refused with one clear error and
nothing delivered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt import JobInfo, JobScheduler, NetworkType, Notification, NotificationManager
from uidt.job.notification import NotificationAction

from .conftest import APPS_DIR, Daemon, read_log, running_daemon, wait_for

CLICKER = "org.example.clicker"
NOTIFIER = "org.example.notifier"


def _with_apps(d: Daemon) -> Daemon:
    d.install(APPS_DIR / "clicker")
    d.install(APPS_DIR / "notifier")
    return d


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running_daemon(tmp_path_factory.mktemp("home")) as d:
        yield _with_apps(d)


@pytest.fixture
def unclicked(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon of its own, on which nothing was clicked yet (no grant from an earlier test)."""
    home = tmp_path / "home"
    home.mkdir()
    with running_daemon(home) as d:
        yield _with_apps(d)


def _post(daemon: Daemon, app: str, nid: int, channel: str, *actions: str) -> None:
    NotificationManager(app, home=daemon.home).notify(
        nid,
        Notification(
            channel,
            f"notification {nid}",
            actions=[NotificationAction(a, a.title()) for a in actions],
        ),
    )


def _clicks(daemon: Daemon) -> list[str]:
    return read_log(daemon.home / "clicks.log")


def test_a_click_reaches_the_receiver_and_lets_it_schedule_a_uij(unclicked: Daemon) -> None:
    daemon = unclicked
    _post(daemon, CLICKER, 1, "clicks", "schedule", "other")
    uij = (
        JobInfo.Builder(900, "clicker_app:ClickedService")
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.ANY)
        .set_estimated_network_bytes(1000, 0)
        .build()
    )
    # without a click the app, not visible, may not schedule a user-initiated job
    assert JobScheduler(CLICKER, home=daemon.home).schedule(uij) == JobScheduler.RESULT_FAILURE
    listed = daemon.uidt_json("notifications", "--json")
    (shown,) = [n for n in listed if n["app"] == CLICKER and n["id"] == 1]
    assert [a["id"] for a in shown["actions"]] == ["schedule", "other"]
    table = daemon.uidt("notifications", "--app", CLICKER).stdout
    assert f"{CLICKER} 1: notification 1" in table
    assert "[schedule] Schedule" in table

    done = daemon.uidt("notification", "click", CLICKER, "1", "schedule")
    assert done.returncode == 0, done.stderr
    lines = wait_for(
        lambda: (
            (found := _clicks(daemon)) and any(x.startswith("schedule:") for x in found) and found
        ),
        what="the receiver to be called and schedule",
    )
    # the click comes first; the job it scheduled may log that it ran before the receiver logs
    # schedule()'s answer (they are two processes' threads), so the answer is looked for by itself
    assert isinstance(lines, list)
    assert lines[0] == "click 1 schedule source=cli job=None"
    assert "schedule: 1" in lines
    wait_for(lambda: "job 501 ran" in _clicks(daemon), what="the job the click allowed to run")


def test_a_receiver_that_raises_leaves_the_worker_serving(daemon: Daemon) -> None:
    _post(daemon, CLICKER, 2, "clicks", "boom", "other")
    daemon.api("POST", f"/v1/apps/{CLICKER}/notifications/2/actions/boom", {})
    daemon.api("POST", f"/v1/apps/{CLICKER}/notifications/2/actions/other", {})
    wait_for(
        lambda: "click 2 other source=cli job=None" in _clicks(daemon),
        what="the click after the failing one",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((CLICKER, "3", "forged"), "notification 3 of org.example.clicker has no action 'forged'"),
        ((CLICKER, "99", "go"), "org.example.clicker shows no notification 99"),
        # another app's notification is not the clicker's to be clicked
        ((CLICKER, "4", "go"), "org.example.clicker shows no notification 4"),
        ((NOTIFIER, "4", "go"), "org.example.notifier does not receive notification actions"),
        (("org.example.missing", "4", "go"), "No such app: org.example.missing"),
    ],
)
def test_a_bad_click_is_refused_and_delivers_nothing(
    daemon: Daemon, args: tuple[str, str, str], message: str
) -> None:
    _post(daemon, CLICKER, 3, "clicks", "go")
    _post(daemon, NOTIFIER, 4, "declared", "go")
    before = _clicks(daemon)
    done = daemon.uidt("notification", "click", *args)
    assert done.returncode == 1
    assert message in done.stderr
    # a good click after it is the only one the receiver sees
    daemon.uidt("notification", "click", CLICKER, "3", "go")
    wait_for(lambda: len(_clicks(daemon)) > len(before), what="the good click")
    assert _clicks(daemon)[len(before) :] == ["click 3 go source=cli job=None"]
