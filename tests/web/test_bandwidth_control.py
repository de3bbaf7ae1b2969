"""The Task Manager's bandwidth-limit control: shown on the page, changed with CSRF."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from uidt.testing import FakeClock
from uidt.web.app import create_web_app
from uidt.web.auth import new_token

from .fake_runtime import FakeRuntime
from .test_app import BASE, login

JSON = {"Accept": "application/json"}


@pytest.fixture
def client(runtime: FakeRuntime) -> Iterator[TestClient]:
    app = create_web_app(runtime, new_token(), clock=FakeClock())
    with TestClient(app, base_url=BASE, follow_redirects=False) as test_client:
        yield test_client


def test_the_page_shows_the_limit_in_force_and_a_field_to_change_it(client: TestClient) -> None:
    login(client)
    page = client.get("/").text
    assert '<form id="limit" action="/api/bandwidth-limit" method="post">' in page
    assert '<output aria-live="polite">off; shared by 0 transfers</output>' in page


def test_a_change_applies_to_the_runtime_and_reset_goes_back(
    client: TestClient, runtime: FakeRuntime
) -> None:
    csrf = login(client)
    headers = {**JSON, "X-CSRF-Token": csrf}
    done = client.post("/api/bandwidth-limit", data={"limit": "2M"}, headers=headers)
    assert done.status_code == 200
    assert done.json()["message"] == (
        "Bandwidth limit: 2M; set while running (setting: off); shared by 0 transfers"
    )
    assert runtime.bandwidth_limit.current() == 2 * 1024 * 1024
    assert "2M; set while running" in client.get("/").text
    client.post("/api/bandwidth-limit", data={"limit": "reset"}, headers=headers)
    assert runtime.bandwidth_limit.current() is None


def test_a_bad_limit_is_a_400_naming_the_fault_and_changes_nothing(
    client: TestClient, runtime: FakeRuntime
) -> None:
    csrf = login(client)
    bad = client.post(
        "/api/bandwidth-limit",
        data={"limit": "08:00,2M 19:00,fast"},
        headers={**JSON, "X-CSRF-Token": csrf},
    )
    assert bad.status_code == 400
    assert "line 1, entry 2 ('19:00,fast')" in bad.json()["error"]
    assert runtime.bandwidth_limit.override is None


def test_a_change_without_the_csrf_token_is_refused(
    client: TestClient, runtime: FakeRuntime
) -> None:
    login(client)
    refused = client.post("/api/bandwidth-limit", data={"limit": "1K"}, headers=JSON)
    assert refused.status_code == 403
    assert runtime.bandwidth_limit.override is None
