"""The Task Manager on a shared store, in headless Chromium: a job another host holds is listed
with that host's name, and its app's Stop reads "sent" until that host has carried it out
(docs/task-manager.md, docs/fleet.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from uidt.job.key import JobKey
from uidt.store.fleet import StopOutcome
from uidt.store.postgres import PostgresJobStore
from uidt.store.record import NotificationRecord
from uidt.testing.browser import Browser, find_chromium
from uidt.testing.store_contract import make_record

from .conftest import SAMPLE, SAMPLE_DIR, Daemon

OTHERS = 'section[aria-labelledby="h-hosts"]'
JOB = f"document.querySelector('{OTHERS} li.job[data-host=\"host-a\"]')"


@pytest.mark.postgres
@pytest.mark.slow  # a daemon, Chromium and a stop crossing hosts: 4-6 s
async def test_the_page_shows_a_job_another_host_holds_with_its_host_and_stops_it_there(
    tmp_path: Path, postgres_url: str
) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium: run .ci/install-browser (installs Debian chromium)")
    settings = {"host_id": "host-b", "lease_ms": "2s"}
    args = ("--web", "127.0.0.1:0", "--store", postgres_url)
    host_b = Daemon(tmp_path, settings, extra_args=args)
    # host-a: another host on the same store, holding a running job of the sample app (a long
    # lease, so host-b never takes it over)
    with PostgresJobStore(postgres_url, host_id="host-a", lease_ms=120_000) as host_a:
        key = JobKey(SAMPLE, None, 1)
        host_a.put_job(make_record(app=SAMPLE, job_id=1, extra={"generation": 4}))
        host_a.put_notification(
            NotificationRecord(
                app=SAMPLE,
                notification_id=1,
                notification={"title": "Downloading debian.iso", "text": "12 of 600 MB"},
                job=key,
                user_initiated_job=True,
            )
        )
        host_a.fleet.publish_running([key])
        try:
            host_b.start()
            host_b.install(SAMPLE_DIR)
            login = host_b.uidt("ui").stdout.strip()
            assert login.startswith("http://127.0.0.1:")
            async with Browser.launch() as browser:
                await browser.goto(login)
                text = await browser.wait_for(f"{JOB} && {JOB}.innerText", 15)
                assert "host-a" in text
                assert "running" in text
                assert "Downloading debian.iso" in text
                here = await browser.evaluate("document.getElementById('this-host').innerText")
                assert here == "host-b"

                # Stop on host-b's page: sent to host-a, which has not done it yet
                await browser.click(f'{OTHERS} li.app[data-app="{SAMPLE}"] button.stop')
                sent = await browser.wait_for(
                    f"{JOB}.innerText.includes('stop sent to host-a') && {JOB}.innerText", 15
                )
                assert "stopped by" not in sent
                (request,) = host_a.fleet.open_stop_requests()
                assert request.job_generation == 4

                # host-a carries it out (its user stop drops the job) and says so
                assert host_a.remove_job(key)
                host_a.fleet.settle_stop_requests([(request.request_id, StopOutcome.STOPPED)])
                await browser.wait_for(f"!{JOB}", 15)  # gone from the page with its job
        finally:
            host_b.stop()
    assert host_b.returncode == 0
