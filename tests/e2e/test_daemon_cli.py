"""``uidt daemon start|stop|status|restart``, the ``web`` setting and start failures, end to end.

Every daemon here is started in the background by the command line itself (as a user does), in
a home of its own, and stopped at the end of its test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt import JobScheduler

from .conftest import (
    FAST_SETTINGS,
    SAMPLE_DIR,
    clean_env,
    read_log,
    stop_autostarted_daemon,
    uij,
    wait_for,
)

FAST = [arg for name, value in FAST_SETTINGS.items() for arg in ("--set", f"{name}={value}")]


def uidt(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=clean_env(),
        check=False,
    )


def status_json(home: Path) -> dict[str, object]:
    done = uidt(home, "daemon", "status", "--json")
    data: dict[str, object] = json.loads(done.stdout)
    assert done.returncode == (0 if data["running"] else 3), done.stderr
    return data


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    try:
        yield home
    finally:
        stop_autostarted_daemon(home)


def test_status_and_stop_with_no_daemon(home: Path) -> None:
    done = uidt(home, "daemon", "status")
    assert done.returncode == 3
    assert done.stdout.strip() == f"uidt daemon: not running (home {home})"
    assert status_json(home) == {"running": False, "home": str(home)}
    done = uidt(home, "daemon", "stop")
    assert done.returncode == 0
    assert done.stdout.strip() == f"no uidt daemon runs for {home}"
    assert not (home / "uidt.sock").exists()  # neither of them started one


def test_start_status_stop_restart(home: Path, tmp_path: Path) -> None:
    # Given a daemon started in the background, with options, and a persisted job running
    done = uidt(home, "daemon", "start", "--device", "fake", *FAST, "--set", "max_jobs_per_app=7")
    assert done.returncode == 0, done.stderr
    first = status_json(home)
    assert uidt(home, "apps", "install", str(SAMPLE_DIR)).returncode == 0
    log = tmp_path / "app.log"
    scheduler = JobScheduler("org.example.sample", home=home)
    with scheduler.activity():
        job = uij(5, "run", log, persisted=True)
        assert scheduler.schedule(job) == JobScheduler.RESULT_SUCCESS
    wait_for(lambda: "start 5 run" in read_log(log), what="the job to start")

    # status: pid, home, uptime, store, device, web, job counts
    done = uidt(home, "daemon", "status")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"uidt daemon: running (pid {first['pid']})"
    text = done.stdout
    assert f"home:    {home}" in text
    assert "uptime:  " in text
    assert f"store:   sqlite:///{home}/uidt.db" in text
    assert "device:  fake" in text
    assert "web:     off" in text
    assert "jobs:    1 running, 0 waiting" in text

    # stop: graceful (the job is stopped, with on_stop_job), waits for the exit, says so
    done = uidt(home, "daemon", "stop")
    assert done.returncode == 0, done.stderr
    assert f"stopped the uidt daemon (pid {first['pid']})" in done.stdout
    assert "it stopped 1 running job(s)" in done.stdout
    assert any(line.startswith("stop 5 ") for line in read_log(log))
    assert not (home / "uidt.sock").exists()
    assert status_json(home)["running"] is False

    # restart with no daemon starts one; a restart keeps the options and adds the new ones
    assert uidt(home, "daemon", "start", "--device", "fake", *FAST).returncode == 0
    before = status_json(home)
    done = uidt(home, "daemon", "restart", "--web", "127.0.0.1:0", "--set", "max_jobs_per_app=9")
    assert done.returncode == 0, done.stderr
    after = status_json(home)
    assert after["pid"] != before["pid"]
    assert after["device"] == "fake"
    settings = after["settings"]
    assert isinstance(settings, dict)
    assert settings["op_timeout_ms"] == int(FAST_SETTINGS["op_timeout_ms"])  # kept
    assert settings["max_jobs_per_app"] == 9  # given to the restart
    assert str(after["web_url"]).startswith("http://127.0.0.1:")
    # the persisted job survived both stops
    jobs = json.loads(uidt(home, "--json", "jobs").stdout)
    assert [(j["app"], j["job_id"]) for j in jobs] == [("org.example.sample", 5)]


def test_web_given_to_a_running_daemon_is_not_dropped_silently(home: Path) -> None:
    assert uidt(home, "daemon", "--device", "fake").returncode == 0
    pid = status_json(home)["pid"]
    done = uidt(home, "daemon", "--web", "127.0.0.1:0")
    assert done.returncode == 1
    assert "started the daemon" not in done.stderr
    assert (
        f"a uidt daemon already runs for {home} (pid {pid}) without the web page; "
        "run `uidt daemon restart --web 127.0.0.1:0` to change it"
    ) in done.stderr
    # the same options again: it just says so
    done = uidt(home, "daemon", "--device", "fake")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"a uidt daemon already runs for {home} (pid {pid})"


def test_a_bad_restart_leaves_the_running_daemon_alone(home: Path) -> None:
    assert uidt(home, "daemon", "--device", "fake").returncode == 0
    pid = status_json(home)["pid"]
    done = uidt(home, "daemon", "restart", "--web", "203.0.113.5:80")
    assert done.returncode == 1
    assert "loopback only" in done.stderr
    assert status_json(home)["pid"] == pid


def test_options_before_a_subcommand_are_a_usage_error(home: Path) -> None:
    done = uidt(home, "daemon", "--web", "127.0.0.1:0", "stop")
    assert done.returncode == 2
    assert "uidt daemon stop" in done.stderr


def test_every_autostart_keeps_the_web_setting(home: Path) -> None:
    home.mkdir()
    (home / "config.toml").write_text('web = "127.0.0.1:0"\n')
    done = uidt(home, "--json", "jobs")  # any command autostarts the daemon
    assert done.returncode == 0, done.stderr
    assert "started the daemon" in done.stderr
    done = uidt(home, "ui")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("http://127.0.0.1:")
    assert "/login?token=" in done.stdout


@pytest.mark.parametrize(
    ("config", "args", "reason"),
    [
        ("", ("daemon", "--set", "no_such_setting=1"), "unknown setting 'no_such_setting'"),
        ("", ("daemon", "--web", "192.0.2.1:8765"), "loopback only"),
        ('web = "192.0.2.1:8765"\n', ("jobs",), "loopback only"),
        ("no_such_setting = 1\n", ("jobs",), "unknown setting 'no_such_setting'"),
    ],
)
def test_a_daemon_that_cannot_start_says_why(
    home: Path, config: str, args: tuple[str, ...], reason: str
) -> None:
    home.mkdir()
    if config:
        (home / "config.toml").write_text(config)
    done = uidt(home, *args)
    assert done.returncode == 1
    assert reason in done.stderr
    assert "Traceback" not in done.stderr
    assert not (home / "uidt.sock").exists()


def test_stop_of_a_daemon_that_does_not_answer_is_bounded(home: Path) -> None:
    # Given a daemon that takes requests but never answers (frozen with SIGSTOP)
    assert uidt(home, "daemon", "--device", "fake").returncode == 0
    pid = int(str(status_json(home)["pid"]))
    os.kill(pid, signal.SIGSTOP)
    try:
        # When it is asked to stop, the command gives up after --timeout and says why
        done = uidt(home, "daemon", "stop", "--timeout", "1")
        assert done.returncode == 1
        assert f"a uidt daemon (pid {pid}) holds {home} but does not answer" in done.stderr
    finally:
        os.kill(pid, signal.SIGCONT)
    # Then, once it answers again, a stop stops it
    done = uidt(home, "daemon", "stop")
    assert done.returncode == 0, done.stderr
    assert status_json(home)["running"] is False
