"""The Task Manager's notification buttons in headless Chromium against a real daemon: Pause on
a running download's card, then Resume on its paused notification; the file ends byte-exact."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.testing.browser import Browser, find_chromium
from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.jobs import TRANSFERS_APP

from .test_task_manager_browser import CARD, WebDaemon

MiB = 1024 * 1024
DATA = bytes(range(256)) * (4 * MiB // 256)
NOTES = 'section[aria-labelledby="h-notes"]'


@pytest.fixture
def web_daemon(tmp_path: Path) -> Iterator[WebDaemon]:
    daemon = WebDaemon(tmp_path)
    try:
        yield daemon.start()
    finally:
        daemon.stop()


@pytest.fixture
def served() -> Iterator[ThreadedTransferTestServer]:
    with ThreadedTransferTestServer() as server:
        server.add_file("/file.bin", DATA)
        server.throttle("/file.bin", 2 * MiB)
        yield server


@pytest.mark.slow  # a daemon, a held download and Chromium: 5-10 s
async def test_pause_and_resume_buttons_on_the_page(
    web_daemon: WebDaemon, served: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium: run .ci/install-browser (installs Debian chromium)")
    dest = tmp_path / "file.bin"
    started = web_daemon.uidt("--json", "download", served.url("/file.bin"), "-o", str(dest))
    assert started.returncode == 0, started.stderr
    job_id = int(json.loads(started.stdout)["job_id"])
    # hold the body after 1 MiB: the download runs (and waits) until the page's buttons act
    served.wait_bytes_sent("/file.bin", MiB, timeout=15)
    served.pause("/file.bin")
    login = web_daemon.uidt("ui").stdout.strip()

    async with Browser.launch() as browser:
        await browser.goto(login)
        pause = f'{CARD} button.action[data-action="pause"]'
        await browser.wait_for(f"document.querySelector('{pause}')")
        await browser.click(pause)
        said = await browser.wait_for("document.getElementById('announce').textContent")
        assert "Failed" not in str(said), said
        ended = await asyncio.to_thread(
            web_daemon.wait_job,
            job_id,
            lambda j: j["state"] == "finished",
            "paused",
            app=TRANSFERS_APP,
        )
        assert ended["notification"]["title"].endswith("paused")
        assert not dest.exists()
        resume = f'{NOTES} button.action[data-action="resume"]'
        await browser.wait_for(f"document.querySelector('{resume}')")
        served.throttle("/file.bin", None)
        served.unpause("/file.bin")
        await browser.click(resume)
        await browser.wait_for(f"!document.querySelector('{resume}')")

    def complete() -> bool:
        return dest.exists()

    from .conftest import wait_for

    await asyncio.to_thread(wait_for, complete, 30, "the resumed download to complete")
    assert dest.read_bytes() == DATA
    assert served.bytes_sent("/file.bin") == len(DATA)  # resumed: nothing sent twice
