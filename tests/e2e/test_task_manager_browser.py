"""Issue 9 end to end: a real daemon serving the Task Manager, a real throttled download, and
headless Chromium watching its progress move, then pressing the app's Stop button."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.testing.browser import Browser, find_chromium
from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.jobs import TRANSFERS_APP

from .conftest import FAST_SETTINGS, Daemon, clean_env, wait_for

MiB = 1024 * 1024
CARD = f'li.app[data-app="{TRANSFERS_APP}"]'
BAR = f"document.querySelector('{CARD} progress')"
SHOTS = Path(__file__).resolve().parents[2] / "test-output"


class WebDaemon(Daemon):
    """The e2e daemon, also serving the Task Manager on a free loopback port."""

    def start(self) -> WebDaemon:
        sets = [a for k, v in FAST_SETTINGS.items() for a in ("--set", f"{k}={v}")]
        args = [sys.executable, "-m", "uidt", "--home", str(self.home), "daemon", "--foreground"]
        args += ["--device", "fake", "--web", "127.0.0.1:0", *sets]
        with (self.home / "daemon.out").open("ab") as out:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=clean_env()
            )
        wait_for(self._answers, 20, "the daemon to answer /v1/ping")
        return self


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
        server.add_file("/movie.bin", bytes(range(256)) * (64 * MiB // 256))
        server.throttle("/movie.bin", 4 * MiB)  # 16 s: time to watch it move and stop it
        yield server


async def test_browser_sees_a_real_download_move_and_stops_the_app(
    web_daemon: WebDaemon, served: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium: run .ci/install-browser (installs Debian chromium)")
    # Given a running user-initiated download
    dest = tmp_path / "movie.bin"
    started = web_daemon.uidt("--json", "download", served.url("/movie.bin"), "-o", str(dest))
    assert started.returncode == 0, started.stderr
    job_id = int(json.loads(started.stdout)["job_id"])
    web_daemon.wait_job(
        job_id, lambda j: j["transferred_download_bytes"] > 0, "bytes", app=TRANSFERS_APP
    )
    login = web_daemon.uidt("ui").stdout.strip()
    SHOTS.mkdir(exist_ok=True)
    assert login.startswith("http://127.0.0.1:")

    async with Browser.launch() as browser:
        # When the user opens the Task Manager, the progress bar moves
        await browser.goto(login)
        await browser.wait_for(BAR)
        first = float(await browser.evaluate(f"{BAR}.value"))
        moved = await browser.wait_for(f"{BAR}.value > {first} + 0.02 && {BAR}.value", 20)
        assert float(moved) > first
        await browser.screenshot(SHOTS / "task-manager-real-download.png")

        # ...and presses the app's Stop button: the app's jobs are gone from the page
        await browser.click(f"{CARD} button.stop")
        await browser.wait_for(f"!document.querySelector('{CARD}')")

    # Then the job was user-stopped (dropped, not rescheduled) and no file was left behind
    job = web_daemon.wait_job(
        job_id, lambda j: j["state"] == "user-stopped", "user-stopped", app=TRANSFERS_APP
    )
    assert job["stop_reason"] == 13
    assert not dest.exists()
    notes = web_daemon.dumpsys()["notifications"]
    assert not [n for n in notes if n["app"] == TRANSFERS_APP and n["id"] == job_id]
