"""Headless Chromium for end-to-end tests of the Task Manager page, over the DevTools protocol.

A small client of the Chrome DevTools Protocol on aiohttp's websocket (already a dependency), so
no browser-automation package or browser download is needed: it drives the system's Chromium
(Debian ``chromium``; ``.ci/install-browser`` installs it). Waiting is event-driven: conditions are
checked by a ``MutationObserver`` in the page, never by sleeping.

Example::

    async with Browser.launch() as browser:
        await browser.goto(url)
        await browser.wait_for("document.querySelector('progress') !== null")
        await browser.click("button.stop")
        await browser.screenshot(Path("test-output/page.png"))
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from uidt.errors import UidtError

#: Flags that work on the project's machines (no sandbox for root, no GPU, no network chatter).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)

#: A phone-sized window (CSS pixels).
PHONE_SIZE = (412, 915)

_DEVTOOLS_LINE = re.compile(rb"DevTools listening on (ws://\S+)")


class BrowserError(UidtError, RuntimeError):
    """The browser could not be started, or a page operation failed."""


def find_chromium() -> str | None:
    """The Chromium executable (``UIDT_TEST_CHROMIUM`` or the usual names), or ``None``."""
    configured = os.environ.get("UIDT_TEST_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """One headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._next_id = 0
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._listeners: dict[str, list[asyncio.Future[dict[str, Any]]]] = {}
        self.console: list[str] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    # -- launching -----------------------------------------------------------------------------

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(
        cls,
        executable: str | None = None,
        *,
        size: tuple[int, int] = PHONE_SIZE,
        timeout_s: float = 30.0,
    ) -> AsyncIterator[Browser]:
        """Start Chromium with a fresh profile; yield a :class:`Browser` on its first page."""
        exe = executable or find_chromium()
        if exe is None:
            raise BrowserError("no Chromium found (apt-get install chromium)")
        with tempfile.TemporaryDirectory(prefix="uidt-chromium-") as profile:
            process = await asyncio.create_subprocess_exec(
                exe,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={size[0]},{size[1]}",
                "about:blank",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
            drain: asyncio.Task[None] | None = None
            try:
                endpoint = await asyncio.wait_for(_devtools_endpoint(process), timeout_s)
                assert process.stderr is not None
                drain = asyncio.create_task(_drain(process.stderr))
                async with aiohttp.ClientSession() as http:
                    page_ws = await asyncio.wait_for(_first_page(http, endpoint), timeout_s)
                    async with http.ws_connect(page_ws, max_msg_size=0) as ws:
                        browser = cls(ws)
                        try:
                            await browser.send("Page.enable")
                            await browser.send("Runtime.enable")
                            await browser.send(
                                "Emulation.setDeviceMetricsOverride",
                                {"width": size[0], "height": size[1],
                                 "deviceScaleFactor": 1, "mobile": True},
                            )  # fmt: skip
                            yield browser
                        finally:
                            await browser._close()
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), timeout=10)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    await process.wait()
                if drain is not None:
                    drain.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await drain

    # -- the protocol --------------------------------------------------------------------------

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one DevTools command and return its result."""
        self._next_id += 1
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[self._next_id] = reply
        await self._ws.send_str(
            json.dumps({"id": self._next_id, "method": method, "params": params or {}})
        )
        message = await reply
        if "error" in message:
            raise BrowserError(f"{method}: {message['error'].get('message')}")
        result: dict[str, Any] = message.get("result", {})
        return result

    def _expect(self, event: str) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._listeners.setdefault(event, []).append(future)
        return future

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data:
                future = self._replies.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
            elif data.get("method") == "Runtime.consoleAPICalled":
                args = data["params"].get("args", [])
                self.console.append(" ".join(str(a.get("value", "")) for a in args))
            else:
                for future in self._listeners.pop(data.get("method", ""), []):
                    if not future.done():
                        future.set_result(data.get("params", {}))
        for future in self._replies.values():
            if not future.done():
                future.set_exception(BrowserError("the browser went away"))

    async def _close(self) -> None:
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    # -- page operations -----------------------------------------------------------------------

    async def goto(self, url: str, timeout_s: float = 15.0) -> None:
        """Open ``url`` and wait for its load event."""
        loaded = self._expect("Page.loadEventFired")
        result = await self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"navigating to {url}: {result['errorText']}")
        await asyncio.wait_for(loaded, timeout_s)

    async def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page (promises are awaited) and return its value."""
        result = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"script failed: {text}")
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout_s: float = 10.0) -> Any:
        """Wait until ``expression`` is truthy in the page, re-checking on every DOM change."""
        script = f"""new Promise((resolve, reject) => {{
            const check = () => {{ try {{ const v = ({expression}); if (v) {{ done(v); return true; }} }}
                                  catch (e) {{}} return false; }};
            const observer = new MutationObserver(check);
            const timer = setTimeout(() => {{ observer.disconnect();
                reject(new Error('timed out waiting for: ' + {json.dumps(expression)})); }},
                {int(timeout_s * 1000)});
            const done = v => {{ observer.disconnect(); clearTimeout(timer); resolve(v); }};
            if (!check()) observer.observe(document, {{subtree: true, childList: true,
                attributes: true, characterData: true}});
        }})"""
        return await self.evaluate(script)

    async def click(self, selector: str) -> None:
        """Click the centre of the element with a real (synthesised) mouse press."""
        point = await self.evaluate(
            f"""(() => {{ const el = document.querySelector({json.dumps(selector)});
                if (!el) return null; el.scrollIntoView({{block: 'center'}});
                const r = el.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2];
            }})()"""
        )
        if point is None:
            raise BrowserError(f"nothing matches {selector!r}")
        x, y = point
        for kind in ("mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )

    async def press(self, key: str) -> None:
        """Press and release a key (``"Tab"``, ``"Enter"``, ``" "``) as a keyboard would."""
        codes = {"Tab": 9, "Enter": 13, " ": 32}
        params: dict[str, Any] = {"key": key, "windowsVirtualKeyCode": codes.get(key, 0)}
        if key == "Enter":
            params["text"] = "\r"
        elif key == " ":
            params["text"] = " "
        await self.send("Input.dispatchKeyEvent", {"type": "keyDown", **params})
        await self.send("Input.dispatchKeyEvent", {"type": "keyUp", **params})

    async def screenshot(self, path: Path) -> Path:
        """Save a PNG of the page (whole page height) to ``path``."""
        shot = await self.send(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        data = base64.b64decode(shot["data"])

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        await asyncio.to_thread(write)
        return path


async def _devtools_endpoint(process: asyncio.subprocess.Process) -> str:
    assert process.stderr is not None
    while True:
        line = await process.stderr.readline()
        if not line:
            raise BrowserError(f"Chromium exited (status {await process.wait()}) before DevTools")
        match = _DEVTOOLS_LINE.search(line)
        if match:
            return match.group(1).decode()


async def _first_page(http: aiohttp.ClientSession, browser_ws: str) -> str:
    host = browser_ws.split("/")[2]
    async with http.get(f"http://{host}/json/list") as response:
        targets = await response.json()
    for target in targets:
        if target.get("type") == "page":
            return str(target["webSocketDebuggerUrl"])
    raise BrowserError("Chromium has no page target")


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass
