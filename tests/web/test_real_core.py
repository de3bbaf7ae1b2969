"""The page against the real scheduler core (snapshots, notifications, the Task Manager stop).

The core is driven by the public test kit's in-process apps; a small adapter gives it the
runtime's members the page uses (the daemon's ``Runtime`` does the same with real processes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from uidt.daemon.bandwidth_limit import BandwidthLimiter
from uidt.device.state import DeviceState
from uidt.job import JobInfo, NetworkType
from uidt.job.notification import EndPolicy, Notification
from uidt.notify.events import RawPayload
from uidt.server import AppInfo, Caller, JobSchedulerService, StartJob
from uidt.server.actions import PostNotification, RemoveNotification
from uidt.settings import Settings
from uidt.testing import AppBehaviour, FakeClock, InProcessApps, run_until_idle
from uidt.web.app import create_web_app
from uidt.web.auth import new_token

from .fake_runtime import FakeFleet

APP = "org.example.photos"
SERVICE = "photos.sync:UploadService"


class CoreRuntime:
    """The runtime members the page uses, on top of a real core and in-process apps."""

    def __init__(self, service: JobSchedulerService) -> None:
        self.service = service
        self.apps = InProcessApps(service, lambda _key: AppBehaviour(end_policy=EndPolicy.DETACH))
        self.notification_sinks: list[Callable[[str, RawPayload], None]] = []
        self.web_login: Callable[[], str | None] = lambda: None
        self.starts: list[StartJob] = []
        self.fleet = FakeFleet(self)  # a store no other host shares
        self.bandwidth_limit = BandwidthLimiter(
            None,
            clock=service.clock,
            running=lambda: service.running.values(),
            send=lambda _run, _share: None,
        )

    def pump(self) -> None:
        def handle(action: object) -> None:
            if isinstance(action, StartJob):
                self.starts.append(action)
            if isinstance(action, PostNotification):
                for sink in self.notification_sinks:
                    sink("post", action.record)
            elif isinstance(action, RemoveNotification):
                for sink in self.notification_sinks:
                    sink("remove", (action.app, action.notification_id))
            self.apps(action)  # type: ignore[arg-type]

        run_until_idle(self.service, handle)

    def jobs_snapshot(self, app: str | None, *, include_finished: bool) -> list[dict[str, Any]]:
        return self.service.queries.jobs_snapshot(app, include_ended=include_finished)

    def dump(self) -> dict[str, Any]:
        return self.service.queries.dump()

    def user_stop(self, app: str) -> list[dict[str, Any]]:
        running = [j for j in self.service.queries.jobs_snapshot(app) if j["state"] == "active"]
        self.service.user_stop(app)
        self.pump()
        return running

    def cancel(self, app: str, namespace: str | None, job_id: int) -> None:
        self.service.cancel(app, namespace, job_id)
        self.pump()


def uij(job_id: int) -> JobInfo:
    return (
        JobInfo.Builder(job_id, SERVICE)
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.ANY)
        .set_estimated_network_bytes(1000, 0)
        .build()
    )


@pytest.fixture
def core() -> CoreRuntime:
    service = JobSchedulerService(
        clock=FakeClock(),
        settings=Settings(),
        device=DeviceState(),
        installed_memory_bytes=16 * 1024**3,
        apps={
            APP: AppInfo(
                package=APP,
                services={SERVICE: "BIND_JOB_SERVICE"},
                permissions=frozenset({"RUN_USER_INITIATED_JOBS"}),
                channels=frozenset({"transfers"}),
            )
        },
    )
    return CoreRuntime(service)


@pytest.fixture
def client(core: CoreRuntime) -> Iterator[TestClient]:
    app = create_web_app(core, new_token(), clock=FakeClock())
    with TestClient(app, base_url="http://127.0.0.1:8765", follow_redirects=False) as test_client:
        code = app.state.auth.new_login_code()
        assert test_client.get(f"/login?token={code}").status_code == 303
        yield test_client


def csrf_of(client: TestClient) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)
    assert match is not None
    return match.group(1)


def test_a_running_job_and_its_notification_then_the_task_manager_stop(
    core: CoreRuntime, client: TestClient
) -> None:
    removed: list[RawPayload] = []
    core.notification_sinks.append(
        lambda kind, payload: removed.append(payload) if kind == "remove" else None
    )
    core.service.schedule(Caller(APP, visible=True), None, uij(1))
    core.pump()
    run_id = core.starts[-1].run_id
    core.service.host.on_set_notification(
        run_id, 1, Notification("transfers", "Uploading album", "3 of 10 photos", progress=0.3),
        EndPolicy.DETACH,
    )  # fmt: skip
    core.service.host.on_update_transferred_bytes(run_id, 300, 0)
    core.pump()

    view = client.get("/api/state").json()["view"]
    assert [a["app"] for a in view["apps"]] == [APP]
    shown = view["apps"][0]["jobs"][0]
    assert (shown["title"], shown["text"], shown["progress"]) == (
        "Uploading album",
        "3 of 10 photos",
        0.3,
    )
    assert (shown["bytes_done"], shown["bytes_total"]) == (300, 1000)
    assert 'aria-label="Stop org.example.photos"' in client.get("/").text

    response = client.post(
        f"/api/apps/{APP}/stop",
        headers={"X-CSRF-Token": csrf_of(client), "Accept": "application/json"},
    )
    assert response.status_code == 200
    assert [j["job_id"] for j in response.json()["stopped"]] == [1]
    view = client.get("/api/state").json()["view"]
    assert view["apps"] == [], "the app's running jobs are gone"
    assert (APP, 1) in removed, "a USER stop removes the notification even with DETACH"
    assert view["notifications"] == []


def test_a_waiting_job_shows_its_reasons_and_can_be_cancelled(
    core: CoreRuntime, client: TestClient
) -> None:
    core.service.on_device_state(DeviceState(plugged=False, charging=False))
    job = (
        JobInfo.Builder(2, SERVICE)
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.ANY)
        .set_requires_charging(True)
        .build()
    )
    core.service.schedule(Caller(APP, visible=True), None, job)
    core.pump()
    html = client.get("/").text
    assert "waiting for the charger" in html
    assert "Cancel job 2 of org.example.photos" in html
    response = client.post(
        "/api/jobs/cancel",
        data={"app": APP, "job_id": "2"},
        headers={"X-CSRF-Token": csrf_of(client), "Accept": "application/json"},
    )
    assert response.status_code == 200
    assert core.jobs_snapshot(APP, include_finished=False) == []


def test_a_failed_job_reads_failed_with_its_reason_not_finished(
    core: CoreRuntime, client: TestClient
) -> None:
    core.service.schedule(Caller(APP, visible=True), None, uij(3))
    core.pump()
    run_id = core.starts[-1].run_id
    core.service.host.on_set_notification(
        run_id, 3, Notification("transfers", "Download x.bin failed", "HTTP 404", ongoing=False),
        EndPolicy.DETACH,
    )  # fmt: skip
    core.service.host.on_job_failed(run_id, "HTTP 404 Not Found")
    core.pump()
    view = client.get("/api/state").json()["view"]
    [ended] = view["ended"]
    assert (ended["state"], ended["state_words"]) == ("failed", "Failed")
    assert ended["failure"] == "HTTP 404 Not Found"
    assert view["waiting"] == []
    html = client.get("/").text
    assert "Failed: HTTP 404 Not Found" in html
    assert "Finished" not in html
    assert "SUCCESSFUL_FINISH" not in html
    assert "Download x.bin failed" in [n["title"] for n in view["notifications"]]


def regular_on_charger(job_id: int) -> JobInfo:
    return (
        JobInfo.Builder(job_id, SERVICE)
        .set_required_network_type(NetworkType.ANY)
        .set_requires_charging(True)
        .build()
    )


def stop_from_the_page(core: CoreRuntime, client: TestClient) -> None:
    response = client.post(
        f"/api/apps/{APP}/stop",
        headers={"X-CSRF-Token": csrf_of(client), "Accept": "application/json"},
    )
    assert response.status_code == 200


def test_the_task_manager_stop_ends_the_running_job_and_holds_the_others(
    core: CoreRuntime, client: TestClient
) -> None:
    # Given a running user-initiated job and a regular job of the same app waiting for a charger
    core.service.on_device_state(DeviceState(plugged=False, charging=False))
    core.service.schedule(Caller(APP, visible=True), None, uij(1))
    core.service.schedule(Caller(APP, visible=True), None, regular_on_charger(2))
    core.pump()
    # When the user presses Stop on the page
    stop_from_the_page(core, client)
    view = client.get("/api/state").json()["view"]
    # Then the dropped job has left Running and Waiting at once, and shows as ended
    assert view["apps"] == []
    assert [j["job_id"] for j in view["waiting"]] == [2]
    (ended,) = view["ended"]
    assert (ended["job_id"], ended["state"], ended["state_words"]) == (
        1,
        "user-stopped",
        "Stopped by the user",
    )
    assert not ended["cancellable"]
    assert ended["pending"] == [], "an ended job waits for nothing (it was 'running')"
    # the held job is waiting (not 'stopped'), says why, and can be cancelled
    (held,) = view["waiting"]
    assert held["state"] == "waiting"
    assert "stopped by the user" in held["pending"]
    assert held["cancellable"]
    html = client.get("/").text
    assert "Cancel job 2 of org.example.photos" in html
    assert "Cancel job 1 of" not in html


def test_a_cancel_of_a_job_that_just_ended_says_so(core: CoreRuntime, client: TestClient) -> None:
    # Given a waiting job the page shows with its Cancel button
    core.service.on_device_state(DeviceState(plugged=False, charging=False))
    core.service.schedule(Caller(APP, visible=True), None, regular_on_charger(2))
    core.pump()
    csrf = csrf_of(client)
    # When the job ends (here: the app cancels it) before the user's click arrives
    core.cancel(APP, None, 2)
    response = client.post(
        "/api/jobs/cancel",
        data={"app": APP, "job_id": "2"},
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    # Then the answer says the job had already ended, and how (no 404)
    assert response.status_code == 200
    answer = response.json()
    assert answer["cancelled"] is False
    assert answer["state"] == "cancelled"
    assert answer["message"] == "Job 2 of org.example.photos had already ended (cancelled)"
    # and a plain form (no script) goes back to the page, where the job is under Recently ended
    plain = client.post("/api/jobs/cancel", data={"app": APP, "job_id": "2", "csrf": csrf})
    assert plain.status_code == 303
    assert "Recently ended" in client.get("/").text


def test_a_cancel_of_a_job_that_never_was_is_still_404(client: TestClient) -> None:
    response = client.post(
        "/api/jobs/cancel",
        data={"app": APP, "job_id": "99"},
        headers={"X-CSRF-Token": csrf_of(client), "Accept": "application/json"},
    )
    assert response.status_code == 404
    assert response.json()["error"] == "no job 99 of org.example.photos"


def test_a_job_waiting_to_retry_shows_why_and_its_cancel_takes_the_reason_away(
    core: CoreRuntime, client: TestClient
) -> None:
    core.service.schedule(Caller(APP, visible=True), None, uij(4))
    core.pump()
    run_id = core.starts[-1].run_id
    core.service.host.on_set_notification(
        run_id, 4,
        Notification(
            "transfers", "Download x.bin waiting to retry",
            "retrying: cannot reach 127.0.0.1:9 (connection refused)", ongoing=False,
        ),
        EndPolicy.DETACH,
    )  # fmt: skip
    core.service.host.on_job_finished(run_id, True)  # run again after the backoff
    core.pump()
    view = client.get("/api/state").json()["view"]
    [waiting] = view["waiting"]
    assert waiting["title"] == "Download x.bin waiting to retry"
    assert waiting["text"] == "retrying: cannot reach 127.0.0.1:9 (connection refused)"
    assert "cannot reach 127.0.0.1:9 (connection refused)" in client.get("/").text

    response = client.post(
        "/api/jobs/cancel",
        data={"app": APP, "job_id": "4"},
        headers={"X-CSRF-Token": csrf_of(client), "Accept": "application/json"},
    )
    assert response.status_code == 200
    view = client.get("/api/state").json()["view"]
    assert view["waiting"] == []
    # (the played app's first notification, "job 4" with id 1, was detached when it took id 4)
    assert [n["notification_id"] for n in view["notifications"]] == [1]
    assert "retrying" not in client.get("/").text
