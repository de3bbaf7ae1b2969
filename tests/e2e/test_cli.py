"""The ``uidt`` command line against a real daemon: tables, ``--json``, exit statuses, messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from uidt import JobScheduler

from .conftest import LIMITED, SAMPLE, Daemon, clean_env, stop_autostarted_daemon, uij


@pytest.fixture(scope="module")
def running_job(daemon: Daemon, tmp_path_factory: pytest.TempPathFactory) -> int:
    """One running job (701) so that the listings have something to show."""
    log = tmp_path_factory.mktemp("cli") / "app.log"
    scheduler = daemon.scheduler()
    with scheduler.activity():
        assert scheduler.schedule(uij(701, "run", log)) == JobScheduler.RESULT_SUCCESS
    daemon.wait_running(701)
    return 701


def test_jobs_table(daemon: Daemon, running_job: int) -> None:
    done = daemon.uidt("jobs")
    assert done.returncode == 0, done.stderr
    assert str(running_job) in done.stdout
    assert "active" in done.stdout
    assert "job 701" in done.stdout  # the notification's title


@pytest.mark.parametrize("args", [("jobs", "--json"), ("--json", "jobs")])
def test_jobs_json(daemon: Daemon, running_job: int, args: tuple[str, ...]) -> None:
    jobs = daemon.uidt_json(*args)
    [job] = [j for j in jobs if j["app"] == SAMPLE and j["job_id"] == running_job]
    assert job["state"] == "active"
    assert job["user_initiated"] is True
    assert job["notification"]["title"] == "job 701"
    assert job["transferred_download_bytes"] == 10
    assert {"stop_reason", "internal_stop_reason", "pending_reasons", "history"} <= set(job)


def test_jobs_of_one_app(daemon: Daemon, running_job: int) -> None:
    assert daemon.uidt_json("jobs", "--json", "--app", LIMITED) == []
    assert [j["job_id"] for j in daemon.uidt_json("jobs", "--json", "--app", SAMPLE)] == [
        running_job
    ]


def test_dumpsys_json_keys(daemon: Daemon, running_job: int) -> None:
    data = daemon.uidt_json("dumpsys", "--json")
    assert {"jobs", "notifications", "anrs", "device"} <= set(data)
    assert data["device"]["network"]["transport"] == "wifi"  # the fake device
    assert data["device"]["thermal"] == "none"
    assert any(n["app"] == SAMPLE and n["id"] == running_job for n in data["notifications"])
    assert data["anrs"] == []


def test_dumpsys_text(daemon: Daemon, running_job: int) -> None:
    done = daemon.uidt("dumpsys")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    jobs = daemon.dumpsys()["jobs"]
    for section in ("Settings:", "Device:", f"Registered {len(jobs)} jobs:", "Active jobs (1):"):
        assert section in lines
    for section in ("Pending queue (", "Notifications (", "ANRs (", "Ended jobs ("):
        assert any(line.startswith(section) for line in lines), section
    heads = [line for line in lines if line.startswith("  JOB #")]
    assert len(heads) == len(jobs)  # one block per job
    assert f"  JOB #{SAMPLE}/{running_job}: state=active service=sample_app:SampleService" in heads
    assert "  network=wifi (fake)" in lines
    assert "{" not in done.stdout  # no Python reprs
    assert "'" not in done.stdout


def test_apps_list(daemon: Daemon) -> None:
    done = daemon.uidt("apps", "list")
    assert done.returncode == 0, done.stderr
    assert "org.example.samp" in done.stdout  # rich may shorten long cells
    apps = {a["package"]: a for a in daemon.uidt_json("--json", "apps", "list")}
    assert {SAMPLE, LIMITED} <= set(apps)
    assert apps[LIMITED]["manifest"]["permissions"] == ["RUN_USER_INITIATED_JOBS"]


def test_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "uidt", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 0
    for command in ("daemon", "apps", "jobs", "stop", "dumpsys", "cmd", "ui"):
        assert command in done.stdout


@pytest.mark.parametrize(
    "args",
    [("bogus",), ("jobs", "--bogus"), ("apps", "install"), ("apps", "install", "/no/such/dir")],
)
def test_usage_errors_exit_2(daemon: Daemon, args: tuple[str, ...]) -> None:
    done = daemon.uidt(*args)
    assert done.returncode == 2
    assert "Usage:" in done.stderr or "Error" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("stop", "org.example.nothing"),
        ("apps", "revoke", "org.example.nothing", "RUN_USER_INITIATED_JOBS"),
        ("apps", "remove", "org.example.nothing"),
    ],
)
def test_unknown_app_exit_1_with_a_clear_message(daemon: Daemon, args: tuple[str, ...]) -> None:
    done = daemon.uidt(*args)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "uidt: No such app: org.example.nothing (install it with `uidt apps install`)"
    )
    assert "Traceback" not in done.stderr


def test_installing_a_broken_manifest_is_a_clear_error(daemon: Daemon, tmp_path: Path) -> None:
    manifest = tmp_path / "uidt.toml"
    manifest.write_text('package = "org.example.broken"\nsurprise = 1\n')
    done = daemon.uidt("apps", "install", str(manifest))
    assert done.returncode == 1
    assert "unknown key(s) 'surprise'" in done.stderr
    assert "Traceback" not in done.stderr


def test_ui_without_web_says_how(daemon: Daemon) -> None:
    done = daemon.uidt("ui")
    assert done.returncode == 1
    assert "--web" in done.stderr


def test_cmd_help_and_unknown_verb(daemon: Daemon) -> None:
    helped = daemon.cmd()
    assert helped.returncode == 0
    assert "Job scheduler (jobscheduler) commands:" in helped.stdout
    unknown = daemon.cmd("frobnicate")
    assert unknown.returncode == 2
    assert "Unknown command: frobnicate" in unknown.stderr


def test_a_command_starts_the_daemon_when_none_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(home), "--json", "jobs"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        check=False,
    )
    try:
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == []
        assert "uidt: started the daemon (pid " in done.stderr
        assert f"home {home})" in done.stderr
    finally:
        stop_autostarted_daemon(home)
