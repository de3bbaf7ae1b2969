"""Scheduling through ``uidt.JobScheduler`` against a real daemon: visibility, permissions, refusals."""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt import AsyncJobScheduler, JobScheduler
from uidt.errors import InvalidJobError

from .conftest import (
    LIMITED,
    LIMITED_DIR,
    SAMPLE,
    SAMPLE_DIR,
    Daemon,
    clean_env,
    read_log,
    running_daemon,
    uij,
    wait_for,
)

#: Schedules one job from a process with no controlling terminal and no activity (background).
_BACKGROUND_SCHEDULE = """
import json, sys
from uidt import JobInfo, JobScheduler
home, app, job = sys.argv[1], sys.argv[2], JobInfo.from_dict(json.loads(sys.argv[3]))
print(JobScheduler(app, home=home).schedule(job))
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """This module's daemon: no visibility grace, so test order cannot make a call visible."""
    with running_daemon(tmp_path_factory.mktemp("home"), {"visible_grace_ms": "0"}) as d:
        d.install(SAMPLE_DIR)
        d.install(LIMITED_DIR)
        yield d


def schedule_in_background(daemon: Daemon, app: str, job_dict: dict[str, object]) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _BACKGROUND_SCHEDULE, str(daemon.home), app, json.dumps(job_dict)],
        capture_output=True,
        text=True,
        timeout=30,
        start_new_session=True,  # no controlling terminal: never "visible"
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def test_background_schedule_fails_and_visible_schedule_runs(daemon: Daemon, app_log: Path) -> None:
    job = uij(101, "run", app_log)

    assert schedule_in_background(daemon, SAMPLE, job.to_dict()) == JobScheduler.RESULT_FAILURE
    scheduler = daemon.scheduler()
    assert scheduler.get_pending_job(101) is None

    with scheduler.activity():
        assert scheduler.schedule(job) == JobScheduler.RESULT_SUCCESS
    running = daemon.wait_running(101)
    assert running["notification"]["title"] == "job 101"
    assert scheduler.get_pending_job(101) == job
    wait_for(lambda: "start 101 run" in read_log(app_log), what="on_start_job")
    scheduler.cancel(101)
    daemon.wait_job(101, lambda j: j["state"] != "active", "cancelled")


def test_finished_job_leaves_the_pending_list(daemon: Daemon, app_log: Path) -> None:
    scheduler = daemon.scheduler()
    with scheduler.activity():
        assert scheduler.schedule(uij(102, "finish", app_log)) == JobScheduler.RESULT_SUCCESS
    wait_for(lambda: scheduler.get_pending_job(102) is None, what="job 102 to finish")
    assert read_log(app_log) == ["start 102 finish"]


def test_revoked_permission_fails_and_grant_restores(daemon: Daemon, app_log: Path) -> None:
    scheduler = daemon.scheduler()
    assert scheduler.can_run_user_initiated_jobs() is True
    revoked = daemon.uidt("apps", "revoke", SAMPLE, "RUN_USER_INITIATED_JOBS")
    assert revoked.returncode == 0, revoked.stderr
    try:
        assert scheduler.can_run_user_initiated_jobs() is False
        with scheduler.activity():
            assert scheduler.schedule(uij(103, "finish", app_log)) == JobScheduler.RESULT_FAILURE
    finally:
        granted = daemon.uidt("apps", "grant", SAMPLE, "RUN_USER_INITIATED_JOBS")
        assert granted.returncode == 0, granted.stderr
    assert scheduler.can_run_user_initiated_jobs() is True
    with scheduler.activity():
        assert scheduler.schedule(uij(103, "finish", app_log)) == JobScheduler.RESULT_SUCCESS
    wait_for(lambda: "start 103 finish" in read_log(app_log), what="job 103 to run")


def test_service_without_bind_job_service_is_refused(daemon: Daemon, app_log: Path) -> None:
    scheduler = daemon.scheduler()
    with scheduler.activity(), pytest.raises(ValueError, match="BIND_JOB_SERVICE"):
        scheduler.schedule(uij(104, "finish", app_log, service="sample_app:Unguarded"))


def test_persisted_job_needs_receive_boot_completed(daemon: Daemon, app_log: Path) -> None:
    scheduler = daemon.scheduler(LIMITED)
    with scheduler.activity(), pytest.raises(InvalidJobError, match="RECEIVE_BOOT_COMPLETED"):
        scheduler.schedule(
            uij(105, "finish", app_log, persisted=True, service="limited_app:FinishService")
        )
    with scheduler.activity():
        job = uij(105, "finish", app_log, service="limited_app:FinishService")
        assert scheduler.schedule(job) == JobScheduler.RESULT_SUCCESS
    wait_for(lambda: "start 105 limited" in read_log(app_log), what="the limited app's job")


@pytest.mark.parametrize(
    "body",
    [
        {"job": {"job_id": "seven", "service": "sample_app:SampleService"}},
        {"job": {"job_id": 1}},
        {"job": {"job_id": 1, "service": "sample_app:SampleService", "priority": "max"}},
        {"job": {"job_id": 1, "service": "sample_app:SampleService", "network": [1, 2]}},
        {"job": {"job_id": 1, "service": "sample_app:SampleService", "no_such_field": True}},
        {"job": {"job_id": 2**40, "service": "sample_app:SampleService"}},
        {"job": "not an object"},
        {"job": {"job_id": 1, "service": "sample_app:SampleService"}, "work": [1]},
        {"job": {"job_id": 1, "service": "sample_app:SampleService"}, "namespace": "   "},
        {},
    ],
)
def test_invalid_job_info_sent_raw_is_a_400_with_a_message(
    daemon: Daemon, body: dict[str, object]
) -> None:
    with pytest.raises(InvalidJobError) as caught:
        daemon.api("POST", f"/v1/apps/{SAMPLE}/jobs", body)
    assert str(caught.value).strip()


def test_unknown_app_is_a_clear_error(daemon: Daemon, app_log: Path) -> None:
    with pytest.raises(ValueError, match=r"No such app: org\.example\.nothing"):
        JobScheduler("org.example.nothing", home=daemon.home).schedule(uij(106, "run", app_log))


def raw_request(daemon: Daemon, request: bytes) -> tuple[int, bytes]:
    """Send raw bytes on the control socket; the status code and body of the answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(daemon.home / "uidt.sock"))
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1."), answer[:300]
    return int(head.split()[1]), body


CLOSE = b"Host: x\r\nConnection: close\r\n\r\n"


def post(path: str, body: bytes) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    return f"{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (post(f"/v1/apps/{SAMPLE}/jobs", b"{not json"), 400),
        (post(f"/v1/apps/{SAMPLE}/jobs", b"[1, 2]"), 400),
        (post(f"/v1/apps/{SAMPLE}/jobs", b"\xff\xfe"), 400),
        (post(f"/v1/apps/{SAMPLE}/jobs", b'{"job": ' + b" " * (2 << 20) + b"{}}"), 413),
        (post("/v1/cmd", b'{"args": "run"}'), 400),
        (post(f"/v1/apps/{SAMPLE}/jobs/abc/constraints", b"{}"), 405),
        (b"GET /v1/apps/org.example.sample/jobs/99999999999 HTTP/1.1\r\n" + CLOSE, 400),
        (b"BREW /v1/ping HTTP/1.1\r\n" + CLOSE, 400),
        (b"complete nonsense\r\n\r\n", 400),
    ],
)
def test_malformed_requests_get_a_4xx_and_the_daemon_carries_on(
    daemon: Daemon, request_bytes: bytes, status: int
) -> None:
    code, body = raw_request(daemon, request_bytes)
    assert code == status, body[:300]
    if code != 400 or body.startswith(b"{"):
        assert json.loads(body)["error"]["message"]
    assert daemon.api("GET", "/v1/ping")["ok"] is True


async def test_async_scheduler_and_namespaces(daemon: Daemon, app_log: Path) -> None:
    async with AsyncJobScheduler(SAMPLE, home=daemon.home, namespace="photos") as scheduler:
        assert await scheduler.can_run_user_initiated_jobs() is True
        async with scheduler.activity():
            assert await scheduler.schedule(uij(107, "run", app_log)) == 1
        assert await scheduler.get_pending_job(107) is not None
        assert daemon.scheduler().get_pending_job(107) is None  # the default namespace
        by_namespace = await scheduler.get_pending_jobs_in_all_namespaces()
        assert [j.job_id for j in by_namespace["photos"]] == [107]
        await scheduler.cancel(107)
        assert await scheduler.get_pending_job(107) is None


_HOLD_ACTIVITY = """
import sys
from uidt import JobScheduler
with JobScheduler(sys.argv[2], home=sys.argv[1]).activity():
    print("open", flush=True)
    sys.stdin.read()
"""


def test_an_activity_makes_the_app_visible_until_its_process_dies(
    daemon: Daemon, app_log: Path
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_ACTIVITY, str(daemon.home), SAMPLE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        assert SAMPLE in daemon.dumpsys()["apps"]["visible"]
        # Another process of the app, itself in the background, schedules while the window shows.
        job = uij(108, "finish", app_log).to_dict()
        assert schedule_in_background(daemon, SAMPLE, job) == JobScheduler.RESULT_SUCCESS
    finally:
        holder.kill()  # the "window" dies without closing its activity
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
        if holder.stdin is not None:
            holder.stdin.close()
    # The daemon watches the process (pidfd): the app stops being visible without any request.
    wait_for(lambda: SAMPLE not in daemon.dumpsys()["apps"]["visible"], what="visibility to end")
    job = uij(109, "finish", app_log).to_dict()
    assert schedule_in_background(daemon, SAMPLE, job) == JobScheduler.RESULT_FAILURE


def schedule_from_a_terminal(daemon: Daemon, app: str, job_dict: dict[str, object]) -> str:
    """Run the scheduling script as the foreground process of a new pseudo-terminal."""
    args = [sys.executable, "-c", _BACKGROUND_SCHEDULE, str(daemon.home), app, json.dumps(job_dict)]
    pid, fd = pty.fork()
    if pid == 0:  # the child: session leader, the pty is its controlling terminal
        os.execve(sys.executable, args, clean_env())
    output = b""
    try:
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output
    return output.decode().strip()


def test_a_process_in_the_terminal_foreground_is_visible(daemon: Daemon, app_log: Path) -> None:
    job = uij(110, "finish", app_log).to_dict()
    assert schedule_from_a_terminal(daemon, SAMPLE, job) == str(JobScheduler.RESULT_SUCCESS)
    wait_for(lambda: "start 110 finish" in read_log(app_log), what="job 110 to run")
