"""The Task Manager app through Starlette's test client: auth, CSRF, page, Stop, Cancel."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from uidt.testing import FakeClock
from uidt.web.app import create_web_app
from uidt.web.auth import COOKIE_NAME, new_token

from .conftest import APP, OTHER
from .fake_runtime import FakeRuntime, job

BASE = "http://127.0.0.1:8765"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(runtime: FakeRuntime, clock: FakeClock) -> Iterator[TestClient]:
    app = create_web_app(runtime, new_token(), clock=clock)
    with TestClient(app, base_url=BASE, follow_redirects=False) as test_client:
        yield test_client


def login(client: TestClient) -> str:
    """Log in; return the page's CSRF token."""
    code = client.app.state.auth.new_login_code()  # type: ignore[attr-defined]
    response = client.get(f"/login?token={code}")
    assert response.status_code == 303
    page = client.get("/")
    assert page.status_code == 200
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/api/state"),
        ("GET", "/api/events"),
        ("POST", f"/api/apps/{APP}/stop"),
        ("POST", "/api/jobs/cancel"),
        ("POST", "/logout"),
    ],
)
def test_every_request_without_the_cookie_is_401(
    client: TestClient, runtime: FakeRuntime, method: str, path: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 401
    assert runtime.stopped == []


def test_the_401_page_says_how_to_sign_in(client: TestClient) -> None:
    response = client.get("/")
    assert "uidt ui" in response.text


def test_login_sets_a_strict_http_only_cookie_and_redirects_home(client: TestClient) -> None:
    code = client.app.state.auth.new_login_code()  # type: ignore[attr-defined]
    response = client.get(f"/login?token={code}")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/" in cookie
    assert client.get("/").status_code == 200


def test_a_login_link_works_once(client: TestClient) -> None:
    code = client.app.state.auth.new_login_code()  # type: ignore[attr-defined]
    assert client.get(f"/login?token={code}").status_code == 303
    client.cookies.clear()
    again = client.get(f"/login?token={code}")
    assert again.status_code == 401
    assert "already used" in again.text
    assert client.get("/").status_code == 401


def test_a_login_link_expires(client: TestClient, clock: FakeClock) -> None:
    code = client.app.state.auth.new_login_code()  # type: ignore[attr-defined]
    clock.advance(5 * 60 * 1000 + 1)
    assert client.get(f"/login?token={code}").status_code == 401


@pytest.mark.parametrize("code", ["", "nope", "x" * 200])
def test_a_made_up_login_code_is_refused(client: TestClient, code: str) -> None:
    assert client.get(f"/login?token={code}").status_code == 401
    assert COOKIE_NAME not in client.cookies


def test_a_forged_cookie_is_401(client: TestClient) -> None:
    client.cookies.set(COOKIE_NAME, "forged")
    assert client.get("/").status_code == 401


def test_a_non_loopback_host_is_refused(runtime: FakeRuntime) -> None:
    app = create_web_app(runtime, new_token())
    with TestClient(app, base_url="http://evil.example:8765") as other:
        assert other.get("/login?token=x").status_code == 421


def test_the_page_shows_the_running_app_its_job_and_the_waiting_job(client: TestClient) -> None:
    login(client)
    html = client.get("/").text
    # one Stop per app, a real labelled button
    assert html.count('class="stop"') == 1
    assert f'aria-label="Stop {APP}"' in html
    assert "Downloading holiday.mp4" in html
    assert "500 of 1000 bytes" in html
    assert re.search(r'<progress id="job-\w+-bar" max="1" value="0.5000">50%</progress>', html)
    assert re.search(r'<label class="sr" for="job-\w+-bar">Progress of job 1</label>', html)
    # the waiting job of the other app: reasons in words, last stop reason, Cancel
    assert "waiting for a suitable network" in html
    assert "Last stop: CONSTRAINT_CONNECTIVITY (CONSTRAINTS_NOT_SATISFIED)" in html
    assert f'aria-label="Cancel job sync:2 of {OTHER}"' in html
    assert "History (1)" in html
    # state in words and a symbol, not by colour alone
    assert "Waiting</span>" in html


def test_the_page_has_no_external_assets_and_a_strict_policy(client: TestClient) -> None:
    login(client)
    response = client.get("/")
    assert not re.search(r'(src|href)="(https?:)?//', response.text)
    assert '<meta name="viewport"' in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    nonce = re.search(r"script-src 'nonce-([^']+)'", policy)
    assert nonce is not None
    assert f'<script nonce="{nonce.group(1)}">' in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_values_are_escaped(client: TestClient, runtime: FakeRuntime) -> None:
    runtime.jobs.append(job("evil.app", 9, title="<script>alert(1)</script>", total=10))
    login(client)
    html = client.get("/").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_state_api_gives_the_view(client: TestClient) -> None:
    login(client)
    data = client.get("/api/state").json()
    assert data["version"] >= 1
    assert [a["app"] for a in data["view"]["apps"]] == [APP]
    assert [j["job_id"] for j in data["view"]["waiting"]] == [2]


def test_stop_without_csrf_is_403(client: TestClient, runtime: FakeRuntime) -> None:
    login(client)
    response = client.post(f"/api/apps/{APP}/stop")
    assert response.status_code == 403
    assert (
        client.post(f"/api/apps/{APP}/stop", headers={"X-CSRF-Token": "x" * 64}).status_code == 403
    )
    assert runtime.stopped == []


def test_stop_with_the_header_runs_the_task_manager_stop(
    client: TestClient, runtime: FakeRuntime
) -> None:
    csrf = login(client)
    response = client.post(
        f"/api/apps/{APP}/stop", headers={"X-CSRF-Token": csrf, "Accept": "application/json"}
    )
    assert response.status_code == 200
    assert runtime.stopped == [APP]
    assert response.json()["stopped"][0]["job_id"] == 1
    assert APP not in client.get("/").text.split('id="h-waiting"')[0]


def test_stop_from_a_plain_form_redirects_home(client: TestClient, runtime: FakeRuntime) -> None:
    csrf = login(client)
    response = client.post(f"/api/apps/{APP}/stop", data={"csrf": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert runtime.stopped == [APP]


def test_stop_must_be_a_post(client: TestClient, runtime: FakeRuntime) -> None:
    login(client)
    assert client.get(f"/api/apps/{APP}/stop").status_code == 405
    assert runtime.stopped == []


def test_a_cross_origin_post_is_refused_even_with_the_token(
    client: TestClient, runtime: FakeRuntime
) -> None:
    csrf = login(client)
    response = client.post(
        f"/api/apps/{APP}/stop",
        headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"},
    )
    assert response.status_code == 403
    assert runtime.stopped == []


def test_stopping_an_unknown_app_is_404(client: TestClient) -> None:
    csrf = login(client)
    response = client.post(
        "/api/apps/no.such.app/stop", headers={"X-CSRF-Token": csrf, "Accept": "application/json"}
    )
    assert response.status_code == 404
    assert "no.such.app" in response.json()["error"]


def test_cancel_calls_the_runtime(client: TestClient, runtime: FakeRuntime) -> None:
    csrf = login(client)
    response = client.post(
        "/api/jobs/cancel",
        data={"app": OTHER, "namespace": "sync", "job_id": "2"},
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    assert response.status_code == 200
    assert runtime.cancelled == [(OTHER, "sync", 2)]
    assert "waiting for a suitable network" not in client.get("/").text


def test_cancel_without_csrf_is_403(client: TestClient, runtime: FakeRuntime) -> None:
    login(client)
    response = client.post(
        "/api/jobs/cancel", data={"app": OTHER, "namespace": "sync", "job_id": "2"}
    )
    assert response.status_code == 403
    assert runtime.cancelled == []


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"app": APP, "job_id": "1"}, 409),  # running: that is what Stop is for
        ({"app": OTHER, "job_id": "2"}, 404),  # wrong namespace
        ({"app": OTHER, "namespace": "sync", "job_id": "x"}, 400),
        ({"namespace": "sync", "job_id": "2"}, 400),
    ],
)
def test_cancel_refusals(
    client: TestClient, runtime: FakeRuntime, form: dict[str, str], status: int
) -> None:
    csrf = login(client)
    response = client.post(
        "/api/jobs/cancel", data=form, headers={"X-CSRF-Token": csrf, "Accept": "application/json"}
    )
    assert response.status_code == status
    assert runtime.cancelled == []


def test_logout_ends_the_session(client: TestClient) -> None:
    csrf = login(client)
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    assert client.get("/").status_code == 401


def test_detached_notifications_are_listed(client: TestClient, runtime: FakeRuntime) -> None:
    runtime.notifications.append(
        {"app": APP, "id": 3, "title": "Downloaded a.iso", "text": "", "progress": None,
         "user_initiated_job": False}
    )  # fmt: skip
    login(client)
    assert "Downloaded a.iso" in client.get("/").text


def _with_buttons(runtime: FakeRuntime) -> None:
    running = job(APP, 1, title="Download a.iso", total=100)
    running["notification"]["id"] = 1
    running["notification"]["actions"] = [["pause", "Pause"], ["cancel", "Cancel"]]
    runtime.jobs = [running]
    runtime.notifications.append(
        {"app": OTHER, "id": 7, "title": "Paused b.iso", "text": "", "progress": None,
         "user_initiated_job": False, "actions": [["resume", "Resume"]]}
    )  # fmt: skip


def test_notification_actions_are_buttons_that_post_the_click(
    client: TestClient, runtime: FakeRuntime
) -> None:
    _with_buttons(runtime)
    csrf = login(client)
    page = client.get("/").text
    assert 'aria-label="Pause: Download a.iso"' in page
    assert 'aria-label="Resume: Paused b.iso"' in page
    response = client.post(
        "/api/notifications/click",
        data={"app": APP, "notification_id": "1", "action_id": "pause"},
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["action"] == "pause"
    form = client.post(
        "/api/notifications/click",
        data={"csrf": csrf, "app": OTHER, "notification_id": "7", "action_id": "resume"},
    )
    assert form.status_code == 303
    assert runtime.clicks == [(APP, 1, "pause"), (OTHER, 7, "resume")]


def test_a_click_without_the_csrf_token_is_403(client: TestClient, runtime: FakeRuntime) -> None:
    _with_buttons(runtime)
    login(client)
    response = client.post(
        "/api/notifications/click", data={"app": APP, "notification_id": "1", "action_id": "pause"}
    )
    assert response.status_code == 403
    assert runtime.clicks == []


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (
            {"app": APP, "notification_id": "1", "action_id": "forged"},
            404,
            "has no action 'forged'",
        ),
        (
            {"app": APP, "notification_id": "9", "action_id": "pause"},
            404,
            "shows no notification 9",
        ),
        (
            {"app": APP, "notification_id": "x", "action_id": "pause"},
            400,
            "app, notification_id and action_id are required",
        ),
        (
            {"app": APP, "action_id": "pause"},
            400,
            "app, notification_id and action_id are required",
        ),
    ],
)
def test_a_bad_click_is_refused(
    client: TestClient, runtime: FakeRuntime, data: dict[str, str], status: int, words: str
) -> None:
    _with_buttons(runtime)
    csrf = login(client)
    response = client.post(
        "/api/notifications/click",
        data=data,
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    assert response.status_code == status
    assert words in response.json()["error"]
    assert runtime.clicks == []
