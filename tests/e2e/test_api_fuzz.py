"""The control API's OpenAPI description, fuzzed with schemathesis: no request may get a 5xx.

The API server (``create_api``) is served on 127.0.0.1 TCP in a background thread,
on a real :class:`~uidt.daemon.runtime.Runtime` (memory store, fake device, real app host) with
the sample app installed. Generation is bounded and deterministic (derandomized, a few dozen
examples per operation).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from uidt.clock import SystemClock
from uidt.daemon.api import create_api
from uidt.daemon.openapi import OPENAPI
from uidt.daemon.runtime import Runtime
from uidt.device.fake import FakeDeviceSource
from uidt.device.override import OverrideDeviceSource
from uidt.host.apphost import AppHost
from uidt.server.service import JobSchedulerService
from uidt.settings import Settings
from uidt.store.memory import MemoryJobStore

from .conftest import SAMPLE, SAMPLE_DIR

EXAMPLES_PER_OPERATION = 30
schema = schemathesis.openapi.from_dict(OPENAPI)


class ApiServer(threading.Thread):
    """``create_api(runtime)`` on loopback TCP, on its own event loop."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__(name="uidt-api-fuzz", daemon=True)
        self.log_dir = log_dir
        self.base_url = ""
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test thread
            self.error = exc
            self.ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        clock = SystemClock()
        device = OverrideDeviceSource(FakeDeviceSource())
        overrides = {"cmd_run_connectivity_wait_ms": "100", "op_timeout_ms": "1000"}
        service = JobSchedulerService(
            clock=clock,
            settings=Settings.from_sources(None, {}, overrides),
            device=device.snapshot(),
            installed_memory_bytes=8 << 30,
        )
        runtime = Runtime(
            service=service, store=MemoryJobStore(), host=None, device=device, clock=clock
        )
        host = AppHost(runtime.on_host_event, log_dir=self.log_dir, idle_timeout_s=5)
        runtime.host = host
        runtime.load()
        runtime.apps.install_file(str(SAMPLE_DIR / "uidt.toml"))
        api = create_api(runtime)
        listener = socket.create_server(("127.0.0.1", 0))
        listener.setblocking(False)
        port = listener.getsockname()[1]
        await api.start(listener)
        self.base_url = f"http://127.0.0.1:{port}"
        timers = asyncio.create_task(runtime.run_timers())
        self.ready.set()
        try:
            await self._stop_event.wait()
        finally:
            timers.cancel()
            await host.close()
            await api.close()
            runtime.store.close()

    def stop(self) -> None:
        if self._loop is not None and self._stop_event is not None:
            self._loop.call_soon_threadsafe(self._stop_event.set)
        self.join(timeout=15)


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = ApiServer(tmp_path_factory.mktemp("fuzz"))
    server.start()
    assert server.ready.wait(timeout=20), "the API server did not start"
    if server.error is not None:
        raise server.error
    try:
        yield server.base_url
    finally:
        server.stop()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error(case: schemathesis.Case, api_url: str) -> None:
    # Fuzzed uninstalls remove the sample app: put it back so that every case can reach it.
    manifest = {"manifest_path": str(SAMPLE_DIR / "uidt.toml")}
    assert requests.post(f"{api_url}/v1/apps", json=manifest, timeout=30).status_code == 200
    check(case, api_url)
    if case.path_parameters and "app" in case.path_parameters:
        # Random app names all end at "No such app": send each case to the installed app too.
        case.path_parameters["app"] = SAMPLE
        check(case, api_url)


def check(case: schemathesis.Case, api_url: str) -> None:
    response = case.call(base_url=api_url, timeout=30)
    where = f"{case.method} {case.formatted_path} {case.query} {case.body!r}"
    assert response.status_code < 500, f"{where}: {response.text}"
    body = json.loads(response.text)
    if response.status_code >= 400:
        assert body["error"]["message"], f"{where}: {body}"
