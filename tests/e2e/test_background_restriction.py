"""Background-restricted apps against a real daemon and real workers (Android's CTS
``UserInitiatedJobTest.testRestricted*``): the user restricts an app (``uidt apps restrict``, the
RUN_ANY_IN_BACKGROUND app-op); its user-initiated jobs run only while it is visible, stop with
BACKGROUND_RESTRICTION (11) when it is not, and run again when it is visible or unrestricted.
"""

from __future__ import annotations

import fcntl
import os
import pty
import subprocess
import sys
import termios
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt import JobScheduler, PendingReason, StopReason

from .conftest import SAMPLE, SAMPLE_DIR, Daemon, clean_env, read_log, running_daemon, uij, wait_for

BG_STOP = int(StopReason.BACKGROUND_RESTRICTION)


@pytest.fixture
def restricted(daemon: Daemon) -> Iterator[None]:
    """The sample app restricted in the background for one test (lifted afterwards)."""
    done = daemon.uidt("apps", "restrict", SAMPLE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Restricted {SAMPLE} in the background"
    try:
        yield
    finally:
        daemon.uidt("apps", "unrestrict", SAMPLE)
        daemon.uidt("apps", "revoke", SAMPLE, "START_FROM_BACKGROUND")


def _stopped_in_background(daemon: Daemon, job_id: int, app_log: Path) -> None:
    """The run got on_stop_job with reason 11 and the job waits with reason 3, no notification."""
    wait_for(
        lambda: f"stop {job_id} {BG_STOP}" in " ".join(read_log(app_log)),
        what=f"job {job_id} to get on_stop_job with reason 11",
    )
    job = daemon.wait_job(
        job_id,
        lambda j: j["state"] == "waiting" and j["stop_reason"] == BG_STOP,
        "waiting after a background-restriction stop",
    )
    assert job["pending_reasons"][0] == PendingReason.BACKGROUND_RESTRICTION
    wait_for(
        lambda: not [n for n in daemon.dumpsys()["notifications"] if n["id"] == job_id],
        what="the job's notification to be removed",
    )


def _cancel(daemon: Daemon, job_id: int) -> None:
    daemon.scheduler().cancel(job_id)


def test_restricted_uid_state(daemon: Daemon, app_log: Path, restricted: None) -> None:
    """CTS testRestrictedUidState: the app's visible process schedules a UIJ, which runs; the
    process goes away (the app is no longer visible) → the job stops with reason 11."""
    script = textwrap.dedent(
        f"""
        import sys
        from uidt import JobInfo, JobScheduler, NetworkType
        job = (JobInfo.Builder(2201, "sample_app:SampleService").set_user_initiated(True)
               .set_required_network_type(NetworkType.ANY).set_estimated_network_bytes(1000, 0)
               .set_extras({{"mode": "run", "log": {str(app_log)!r}}}).build())
        scheduler = JobScheduler({SAMPLE!r}, home={str(daemon.home)!r})
        with scheduler.activity():
            print(scheduler.schedule(job), flush=True)
            sys.stdin.read()
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(),
    ) as app:
        try:
            assert app.stdout is not None
            assert app.stdout.readline().strip() == str(JobScheduler.RESULT_SUCCESS)
            daemon.wait_running(2201)
            app.kill()  # no goodbye: the daemon sees the process end
            app.wait(timeout=10)
            _stopped_in_background(daemon, 2201, app_log)
        finally:
            if app.poll() is None:
                app.kill()
            _cancel(daemon, 2201)


def _own_terminal() -> None:
    """In the child: a new session whose controlling terminal is stdin (a pty), so the child is
    the foreground process group of its terminal, as a command typed in a shell is."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_a_foreground_terminal_scheduler_keeps_the_app_visible_only_while_it_lives(
    daemon: Daemon, app_log: Path, restricted: None
) -> None:
    """A command in the foreground of its terminal makes the app visible (TOP) when it
    schedules; once that process is gone the app is not visible any more, so a restricted app's
    job stops (11). (It used to stay visible for good: the job never stopped.)"""
    script = textwrap.dedent(
        f"""
        import sys
        from uidt import JobInfo, JobScheduler, NetworkType
        job = (JobInfo.Builder(2206, "sample_app:SampleService").set_user_initiated(True)
               .set_required_network_type(NetworkType.ANY).set_estimated_network_bytes(1000, 0)
               .set_extras({{"mode": "run", "log": {str(app_log)!r}}}).build())
        result = JobScheduler({SAMPLE!r}, home={str(daemon.home)!r}).schedule(job)
        print(result, file=sys.stderr, flush=True)
        sys.stdin.read()
        """
    )
    controller, terminal = pty.openpty()
    try:
        with subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=terminal,
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
            preexec_fn=_own_terminal,  # the child needs a controlling terminal
        ) as app:
            try:
                assert app.stderr is not None
                assert app.stderr.readline().strip() == str(JobScheduler.RESULT_SUCCESS)
                daemon.wait_running(2206)
                app.kill()
                app.wait(timeout=10)
                _stopped_in_background(daemon, 2206, app_log)
            finally:
                if app.poll() is None:
                    app.kill()
                _cancel(daemon, 2206)
    finally:
        os.close(controller)
        os.close(terminal)


def test_restricted_bal_to_top(daemon: Daemon, app_log: Path, restricted: None) -> None:
    """CTS testRestrictedBalToTop: allowed to start a UIJ from the background, a restricted app's
    job still waits until the app is visible."""
    granted = daemon.uidt("apps", "grant", SAMPLE, "START_FROM_BACKGROUND")
    assert granted.returncode == 0, granted.stderr
    scheduler = daemon.scheduler()
    try:
        assert scheduler.schedule(uij(2202, "run", app_log)) == JobScheduler.RESULT_SUCCESS
        assert scheduler.get_pending_job_reason(2202) == PendingReason.BACKGROUND_RESTRICTION
        job = daemon.job(2202)
        assert job is not None
        assert job["state"] == "waiting"
        listed = daemon.uidt("jobs")
        assert "restricted" in listed.stdout, listed.stdout  # the table wraps the words
        with scheduler.activity():
            daemon.wait_running(2202)
            assert read_log(app_log) == ["start 2202 run"]
    finally:
        _cancel(daemon, 2202)


def test_restricted_toggling(daemon: Daemon, app_log: Path) -> None:
    """CTS testRestrictedToggling: restricting the app while its UIJ runs in the background stops
    the job (11); unrestricting runs it again."""
    scheduler = daemon.scheduler()
    with scheduler.activity():
        assert scheduler.schedule(uij(2203, "run", app_log)) == JobScheduler.RESULT_SUCCESS
    try:
        daemon.wait_running(2203)
        restricted = daemon.uidt("apps", "restrict", SAMPLE)
        assert restricted.returncode == 0, restricted.stderr
        _stopped_in_background(daemon, 2203, app_log)
        assert SAMPLE in daemon.dumpsys()["apps"]["background_restricted"]
        (app,) = [a for a in daemon.uidt_json("--json", "apps", "list") if a["package"] == SAMPLE]
        assert app["background_restricted"] is True
        unrestricted = daemon.uidt("apps", "unrestrict", SAMPLE)
        assert unrestricted.returncode == 0, unrestricted.stderr
        daemon.wait_running(2203)
        assert read_log(app_log).count("start 2203 run") == 2
        assert SAMPLE not in daemon.dumpsys()["apps"]["background_restricted"]
    finally:
        daemon.uidt("apps", "unrestrict", SAMPLE)
        _cancel(daemon, 2203)


def test_restricted_top_to_bg(daemon: Daemon, app_log: Path, restricted: None) -> None:
    """CTS testRestrictedTopToBg: a restricted app schedules while visible; its window closes →
    the job stops with reason 11; visible again → it runs again."""
    scheduler = daemon.scheduler()
    try:
        with scheduler.activity():
            assert scheduler.schedule(uij(2204, "run", app_log)) == JobScheduler.RESULT_SUCCESS
            daemon.wait_running(2204)
        _stopped_in_background(daemon, 2204, app_log)
        with scheduler.activity():
            daemon.wait_running(2204)
    finally:
        _cancel(daemon, 2204)


def test_the_restriction_survives_a_daemon_restart(tmp_path: Path) -> None:
    """The revocation lives in the app's record (SQLite): a persisted job of the restricted app
    waits after the restart with the same reason, and runs once the app is visible."""
    home, log = tmp_path / "home", tmp_path / "app.log"
    home.mkdir()
    with running_daemon(home) as first:
        first.install(SAMPLE_DIR)
        assert first.uidt("apps", "restrict", SAMPLE).returncode == 0
        with first.scheduler().activity():
            job = uij(2205, "run", log, persisted=True)
            assert first.scheduler().schedule(job) == JobScheduler.RESULT_SUCCESS
            first.wait_running(2205)
    with running_daemon(home) as second:
        assert SAMPLE in second.dumpsys()["apps"]["background_restricted"]
        scheduler = second.scheduler()
        assert scheduler.get_pending_job_reason(2205) == PendingReason.BACKGROUND_RESTRICTION
        with scheduler.activity():
            second.wait_running(2205)
        scheduler.cancel(2205)


def test_the_app_op_form_is_the_same_switch(daemon: Daemon) -> None:
    revoked = daemon.uidt("apps", "revoke", SAMPLE, "RUN_ANY_IN_BACKGROUND")
    try:
        assert revoked.returncode == 0, revoked.stderr
        assert SAMPLE in daemon.dumpsys()["apps"]["background_restricted"]
        listed = daemon.uidt("apps", "list")
        assert "(restricted)" in listed.stdout
    finally:
        granted = daemon.uidt("apps", "grant", SAMPLE, "RUN_ANY_IN_BACKGROUND")
    assert granted.returncode == 0, granted.stderr
    assert SAMPLE not in daemon.dumpsys()["apps"]["background_restricted"]
    (app,) = [a for a in daemon.uidt_json("--json", "apps", "list") if a["package"] == SAMPLE]
    assert "RUN_ANY_IN_BACKGROUND" not in app["granted"] + app["revoked"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("apps", "restrict", "org.example.nothing"),
            "uidt: No such app: org.example.nothing (install it with `uidt apps install`)",
        ),
        (
            ("apps", "revoke", SAMPLE, "RUN_ANY_IN_BACKGROUN"),
            "uidt: Unknown permission 'RUN_ANY_IN_BACKGROUN': one of ",
        ),
    ],
)
def test_bad_input_is_one_clear_error_and_changes_nothing(
    daemon: Daemon, args: tuple[str, ...], message: str
) -> None:
    before = daemon.uidt_json("--json", "apps", "list")
    done = daemon.uidt(*args)
    assert done.returncode == 1
    assert done.stderr.startswith(message), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert daemon.uidt_json("--json", "apps", "list") == before
