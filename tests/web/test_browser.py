"""The Task Manager in headless Chromium: live progress, Stop, keyboard use, a screenshot."""

from __future__ import annotations

from pathlib import Path

from uidt.testing.browser import Browser, BrowserError
from uidt.web.server import serve_web

from .conftest import APP, OTHER
from .fake_runtime import FakeRuntime
from .test_timeline import stopped_for_the_network

APP_CARD = f'li.app[data-app="{APP}"]'


async def test_progress_moves_and_stop_removes_the_apps_jobs(
    runtime: FakeRuntime, browser: Browser, output_dir: Path
) -> None:
    web = await serve_web(runtime, "127.0.0.1", 0)
    try:
        login = runtime.web_login()
        assert login is not None
        await browser.goto(login)
        await browser.wait_for(f"document.querySelector('{APP_CARD} progress')")
        bar = f"document.querySelector('{APP_CARD} progress')"
        assert await browser.evaluate(f"{bar}.value") == 0.5

        runtime.set_progress(APP, 1, 800)  # the download moves on
        assert await browser.wait_for(f"{bar}.value > 0.79 && {bar}.value")
        await browser.wait_for("document.getElementById('conn').textContent === 'Live'")
        assert (
            await browser.evaluate(f"document.querySelector('{APP_CARD} .pct').textContent")
            == "80%"
        )
        assert await browser.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"
        ), "no sideways scrolling on a phone-sized screen"
        await browser.screenshot(output_dir / "task-manager-running.png")

        await browser.click(f"{APP_CARD} button.stop")
        await browser.wait_for(f"!document.querySelector('{APP_CARD}')")
        assert runtime.stopped == [APP]
        await browser.wait_for(
            "document.getElementById('announce').textContent.includes('Stopped')"
        )
        assert "No app is running" in await browser.evaluate("document.body.innerText")
        # focus moves to the list, not lost with the removed button
        await browser.wait_for("document.activeElement.id === 'h-running'")
        shot = await browser.screenshot(output_dir / "task-manager-stopped.png")
        assert shot.stat().st_size > 1000
    finally:
        await web.close()


async def test_cancel_by_keyboard(runtime: FakeRuntime, browser: Browser) -> None:
    web = await serve_web(runtime, "127.0.0.1", 0)
    try:
        login = runtime.web_login()
        assert login is not None
        await browser.goto(login)
        await browser.wait_for("document.querySelector('button.cancel')")
        label = f"Cancel job sync:2 of {OTHER}"
        for _ in range(10):  # Tab through the page's controls to the Cancel button
            await browser.press("Tab")
            if await browser.evaluate("document.activeElement.getAttribute('aria-label')") == label:
                break
        else:
            raise AssertionError("the Cancel button cannot be reached with Tab")
        await browser.press("Enter")
        await browser.wait_for("!document.querySelector('button.cancel')")
        assert runtime.cancelled == [(OTHER, "sync", 2)]
        assert runtime.stopped == []
    finally:
        await web.close()


async def test_clicking_a_job_shows_its_timeline_with_the_stop_reason(
    runtime: FakeRuntime, browser: Browser, output_dir: Path
) -> None:
    stopped_for_the_network(runtime)
    web = await serve_web(runtime, "127.0.0.1", 0)
    try:
        login = runtime.web_login()
        assert login is not None
        await browser.goto(login)
        link = f"a[aria-label='Timeline of job sync:2 of {OTHER}']"
        await browser.wait_for(f'document.querySelector("{link}")')
        await browser.click(link)
        for _ in range(5):  # the click navigates: the old page's wait ends with its document
            try:
                # the new document's type comes before its root element: wait for both
                shown = (
                    "document.contentType === 'image/svg+xml' && document.documentElement !== null"
                    " && document.documentElement.textContent.includes('uidt job')"
                )
                if await browser.wait_for(shown, 5):
                    break
            except BrowserError:
                continue
        else:
            raise AssertionError("the timeline picture did not open")
        texts = await browser.evaluate("document.documentElement.textContent")
        assert f"uidt job {OTHER}/2" in texts
        assert "the network was lost or no longer suited the job" in texts
        assert "no network" in texts
        shot = await browser.screenshot(output_dir / "task-manager-timeline.png")
        assert shot.stat().st_size > 1000
    finally:
        await web.close()
