"""A transfer waiting to retry says why where users look first (issue 15 follow-up).

A real daemon and worker run ``uidt download`` against a closed port. The run's in-run retries
are cut to two (``shortretries/sitecustomize.py``, on the daemon's ``PYTHONPATH``), so the run
gives up within about a second and the job waits for its backoff (30 s). Meanwhile ``uidt jobs``
(its why column), ``uidt jobs --json`` (the record's ``notification``) and ``uidt dumpsys`` say
"retrying: cannot reach 127.0.0.1:PORT (connection refused)", and never the URL's password. A
``uidt cmd cancel`` of the waiting job takes that notification with it: nothing says "retrying"
for a job that is gone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.job import JobInfo, NetworkType
from uidt.job.reasons import PendingReason
from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.jobs import TRANSFERS_APP, job_id_for

from .conftest import SAMPLE, SAMPLE_SERVICE, Daemon, clean_env, running_daemon

SECRET = "s3cret-pw"
SHORT_RETRIES = Path(__file__).parent / "shortretries"


@pytest.fixture
def short_daemon(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Daemon]:
    """A daemon whose transfer runs give up after two link retries."""
    paths = [str(SHORT_RETRIES), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    with running_daemon(tmp_path_factory.mktemp("home")) as d:
        yield d


def _closed_port() -> int:
    with ThreadedTransferTestServer() as gone:
        return gone.port


def _wide(daemon: Daemon, *args: str) -> str:
    """``uidt ARGS`` printed 400 columns wide (a table row on one line), stdout and stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(daemon.home), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**clean_env(), "COLUMNS": "400"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_a_job_waiting_to_retry_keeps_the_detached_notification_its_run_left_in_v1_jobs(
    daemon: Daemon, tmp_path: Path
) -> None:
    """The sample app's service posts a DETACH notification, then ``job_finished(params,
    True)``: while the job waits for its backoff, its ``/v1/jobs`` record has that notification."""
    job = (
        JobInfo.Builder(61, SAMPLE_SERVICE)
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.ANY)
        .set_extras({"mode": "retry", "end_policy": 0, "log": str(tmp_path / "log")})
        .build()
    )
    scheduler = daemon.scheduler()
    with scheduler.activity():  # the app is visible: it may schedule a user-initiated job
        assert scheduler.schedule(job) == 1
    latency = int(PendingReason.CONSTRAINT_MINIMUM_LATENCY)
    waiting = daemon.wait_job(
        61,
        lambda j: j["state"] == "waiting" and latency in (j.get("pending_reasons") or []),
        "waiting for its backoff",
    )
    assert waiting["notification"] is not None
    assert (waiting["notification"]["id"], waiting["notification"]["title"]) == (61, "job 61")
    assert waiting["notification"]["text"] == "retry"
    daemon.shell("cancel", SAMPLE, "61")
    ended = daemon.wait_job(61, lambda j: j["state"] == "cancelled", "cancelled")
    assert ended["notification"] is None
    assert [n for n in daemon.dumpsys()["notifications"] if n["id"] == 61] == []


def test_a_transfer_waiting_to_retry_says_why_and_its_cancel_takes_the_reason_away(
    short_daemon: Daemon, tmp_path: Path
) -> None:
    daemon = short_daemon
    port = _closed_port()
    dest = tmp_path / "x"
    job_id = job_id_for(dest)
    refused = f"cannot reach 127.0.0.1:{port} (connection refused)"
    started = daemon.uidt("download", f"http://ann:{SECRET}@127.0.0.1:{port}/x", "-o", str(dest))
    assert started.returncode == 0, started.stderr
    latency = int(PendingReason.CONSTRAINT_MINIMUM_LATENCY)
    daemon.wait_job(
        job_id,
        lambda j: j["state"] == "waiting" and latency in (j.get("pending_reasons") or []),
        "waiting for its backoff",
        app=TRANSFERS_APP,
        timeout=30,
    )

    listed = _wide(daemon, "jobs", "--app", TRANSFERS_APP, "--json")
    [job] = [j for j in json.loads(listed) if j["job_id"] == job_id]
    assert job["state"] == "waiting"
    assert job["notification"]["id"] == job_id
    assert job["notification"]["title"] == "Download x waiting to retry"
    text = job["notification"]["text"]
    # the run's last words name the URL, its password masked
    assert text == f"retrying: http://ann:***@127.0.0.1:{port}/x: {refused}"
    table = _wide(daemon, "jobs", "--app", TRANSFERS_APP)
    assert f"waiting for its delay (backoff) to pass — {text}" in table
    dumpsys = _wide(daemon, "dumpsys")
    assert refused in dumpsys
    assert SECRET not in listed + table + dumpsys

    cancelled = daemon.uidt("cmd", "cancel", TRANSFERS_APP, str(job_id))
    assert cancelled.returncode == 0, cancelled.stderr
    ended = daemon.wait_job(
        job_id, lambda j: j["state"] == "cancelled", "cancelled", app=TRANSFERS_APP
    )
    assert ended["notification"] is None
    shown = _wide(daemon, "notifications", "--app", TRANSFERS_APP, "--json")
    assert json.loads(shown) == []
    everything = _wide(daemon, "jobs", "--all", "--app", TRANSFERS_APP)
    assert "retrying" not in everything
    assert not dest.exists()
