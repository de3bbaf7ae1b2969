"""The job timeline picture on the Task Manager: served with the page's auth, for a job the app
has, bounded however long the device history."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from uidt.clock import utc_from_millis
from uidt.device.history import DeviceReading
from uidt.device.state import DeviceState, NetworkState
from uidt.testing import FakeClock
from uidt.web.app import create_web_app
from uidt.web.auth import new_token

from .conftest import APP, OTHER
from .fake_runtime import FakeRuntime
from .test_app import BASE, login

SVG = "{http://www.w3.org/2000/svg}"
#: 2026-11-29 04:00 UTC, when the fake jobs were scheduled
SCHEDULED_MS = 1_795_924_800_000
STOPPED = "CONSTRAINT_CONNECTIVITY/CONSTRAINTS_NOT_SATISFIED, backoff 0 ms"


def stopped_for_the_network(runtime: FakeRuntime) -> None:
    """OTHER's job 2 ran, lost its network at 04:05 and waits for one since."""
    (waiting,) = [j for j in runtime.jobs if j["app"] == OTHER]
    waiting["constraints"] = ["network"]
    waiting["history"] = [
        {"time": "2026-11-29T04:00:00+00:00", "state": "waiting", "reason": "scheduled"},
        {"time": "2026-11-29T04:00:01+00:00", "state": "active", "reason": "started"},
        {"time": "2026-11-29T04:05:00+00:00", "state": "rescheduled", "reason": STOPPED},
        {"time": "2026-11-29T04:05:00+00:00", "state": "waiting", "reason": "rescheduled"},
    ]
    runtime.reasons[(OTHER, 2)] = [[SCHEDULED_MS + 300_000, [6]]]
    runtime.device_history.readings = [
        DeviceReading.of(DeviceState(), SCHEDULED_MS - 60_000),
        DeviceReading.of(DeviceState(network=None), SCHEDULED_MS + 300_000),
    ]


@pytest.fixture
def client(runtime: FakeRuntime) -> Iterator[TestClient]:
    stopped_for_the_network(runtime)
    clock = FakeClock(utc=utc_from_millis(SCHEDULED_MS + 900_000))
    app = create_web_app(runtime, new_token(), clock=clock)
    with TestClient(app, base_url=BASE, follow_redirects=False) as test_client:
        yield test_client


def _texts(svg: str) -> str:
    root = ET.fromstring(svg)
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def test_without_a_session_the_picture_is_refused(client: TestClient) -> None:
    response = client.get(f"/jobs/{OTHER}/2/timeline.svg?namespace=sync")
    assert response.status_code == 401
    assert "svg" not in response.headers.get("content-type", "")


def test_the_picture_names_the_stop_reason_and_the_network_lane(client: TestClient) -> None:
    login(client)
    response = client.get(f"/jobs/{OTHER}/2/timeline.svg?namespace=sync")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    texts = _texts(response.text)
    assert f"uidt job {OTHER}/2" in texts
    assert "the network was lost or no longer suited the job" in texts
    assert "no network" in texts
    assert "times: local time" in texts


def test_the_page_links_each_job_to_its_picture(client: TestClient) -> None:
    login(client)
    page = client.get("/").text
    assert f'href="/jobs/{OTHER}/2/timeline.svg?namespace=sync"' in page
    assert f'href="/jobs/{APP}/1/timeline.svg"' in page


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/jobs/{OTHER}/two/timeline.svg", 400),  # not a number
        (f"/jobs/{OTHER}/2/timeline.svg", 404),  # job 2 is in namespace sync
        (f"/jobs/{APP}/2/timeline.svg?namespace=sync", 404),  # another app's job
        ("/jobs/org.example.nothing/1/timeline.svg", 404),
    ],
)
def test_a_job_the_app_does_not_have_is_refused(client: TestClient, path: str, status: int) -> None:
    login(client)
    response = client.get(path, headers={"accept": "application/json"})
    assert response.status_code == status
    assert "error" in response.json()


def test_a_huge_device_history_draws_a_bounded_picture(
    client: TestClient, runtime: FakeRuntime
) -> None:
    login(client)
    runtime.device_history.readings = [
        DeviceReading.of(DeviceState(network=NetworkState(metered=i % 2 == 1)), SCHEDULED_MS + i)
        for i in range(50_000)
    ]
    response = client.get(f"/jobs/{OTHER}/2/timeline.svg?namespace=sync")
    assert response.status_code == 200
    assert len(response.content) < 1_000_000
    assert "changed 49" in response.text  # the merged stretch, named in its tooltip


def test_the_bytes_done_draw_a_line(client: TestClient, runtime: FakeRuntime) -> None:
    login(client)
    runtime.moved[(OTHER, 2)] = [[SCHEDULED_MS + 60_000, 4096], [SCHEDULED_MS + 240_000, 65536]]
    response = client.get(f"/jobs/{OTHER}/2/timeline.svg?namespace=sync")
    assert "bytes done (of 64.0 KiB)" in _texts(response.text)
    assert "<polyline" in response.text
