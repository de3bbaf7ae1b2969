"""The Task Manager end to end: a real daemon serving the page, headless Chromium using it.

Issue 9: a real throttled download's progress moves, then the app's Stop button. Issue 19 (4, 7):
after Stop the lists tell the truth (the dropped job is ended, not waiting; the held jobs wait and
can be cancelled), and a job whose app keeps crashing shows its last crash."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt import JobScheduler, NetworkType
from uidt.testing.browser import Browser, find_chromium
from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.jobs import TRANSFERS_APP

from .conftest import FAST_SETTINGS, SAMPLE, SAMPLE_DIR, Daemon, clean_env, uij, wait_for

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


def _section(heading: str) -> str:
    """A script expression: the text of each job listed in the page's section ``heading``."""
    return (
        f"[...document.querySelectorAll('section[aria-labelledby=\"{heading}\"] li.job')]"
        ".map(li => li.innerText)"
    )


WAITING, ENDED = _section("h-waiting"), _section("h-ended")
SAMPLE_CARD = f'li.app[data-app="{SAMPLE}"]'


@pytest.mark.slow  # a daemon, three crashes and Chromium: 3-5 s
async def test_after_stop_the_lists_tell_the_truth_and_a_crash_shows_why(
    web_daemon: WebDaemon, tmp_path: Path
) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium: run .ci/install-browser (installs Debian chromium)")
    web_daemon.install(SAMPLE_DIR)
    log = tmp_path / "app.log"
    scheduler = web_daemon.scheduler()
    # Given a job whose on_start_job raises (it has crashed 3 times and now waits 30 s), a job
    # waiting for a cellular network (the fake device is on Wi-Fi), and a running job
    with scheduler.activity():
        assert scheduler.schedule(uij(502, "raise", log)) == JobScheduler.RESULT_SUCCESS
        web_daemon.wait_job(502, lambda j: j["num_system_stops"] >= 3, "three crashes")
        cellular = uij(503, "run", log, network=NetworkType.CELLULAR)
        assert scheduler.schedule(cellular) == JobScheduler.RESULT_SUCCESS
        assert scheduler.schedule(uij(501, "run", log)) == JobScheduler.RESULT_SUCCESS
    web_daemon.wait_running(501)
    login = web_daemon.uidt("ui").stdout.strip()
    SHOTS.mkdir(exist_ok=True)

    async with Browser.launch() as browser:
        await browser.goto(login)
        await browser.wait_for(f"document.querySelector('{SAMPLE_CARD}')")
        # the crashing job says why it keeps restarting
        waiting = await browser.wait_for(f"{WAITING}.length == 2 && {WAITING}")
        (crashing,) = [text for text in waiting if "job 502" in text]
        assert "Last crash: RuntimeError: boom in on_start_job (3 times)" in crashing
        await browser.screenshot(SHOTS / "task-manager-before-stop.png")

        # When the user presses the app's Stop
        await browser.click(f"{SAMPLE_CARD} button.stop")
        await browser.wait_for(f"!document.querySelector('{SAMPLE_CARD}')")
        # Then the running job is listed as ended, stopped by the user, without a Cancel button
        ended = await browser.wait_for(f"{ENDED}.length && {ENDED}")
        (stopped,) = [text for text in ended if "job 501" in text]
        assert "Stopped by the user" in stopped
        assert "running" not in stopped
        # and only the held jobs wait (they run again when the app is opened), each cancellable
        waiting = await browser.evaluate(WAITING)
        assert sorted(t.split("\n")[0] for t in waiting) == [
            f"{SAMPLE} — job 502",
            f"{SAMPLE} — job 503",
        ]
        assert all("stopped by the user" in text for text in waiting)
        assert await browser.evaluate("document.querySelectorAll('button.cancel').length") == 2
        await browser.screenshot(SHOTS / "task-manager-after-stop.png")

        # and a Cancel does what it says
        await browser.click('button[aria-label="Cancel job 503 of org.example.sample"]')
        await browser.wait_for(f"{WAITING}.length == 1")
        # (the list may change before the answer comes: wait for the announcement to change)
        announce = "document.getElementById('announce').textContent"
        announced = await browser.wait_for(f"!{announce}.startsWith('Stopped') && {announce}")
        assert announced == f"Cancelled job 503 of {SAMPLE}"

    job = web_daemon.job(501)
    assert job is not None
    assert job["state"] == "user-stopped"
