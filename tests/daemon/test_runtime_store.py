"""The daemon's loop never waits for the store's disk, and a write an answer promises is on disk.

``SlowDisk`` is a store whose job writes take as long as a slow fsync: each one is held until the
test releases it (or ``HOLD_S`` passes, which a passing test never reaches). A ticker task on the
loop shows whether the loop kept running while a write was held.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from uidt.daemon.api import create_api
from uidt.daemon.runtime import Runtime
from uidt.device.fake import FakeDeviceSource
from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.server.service import JobSchedulerService
from uidt.settings import Settings
from uidt.store.memory import MemoryJobStore
from uidt.store.record import JobRecord
from uidt.testing.clock import FakeClock

SAMPLE_MANIFEST = Path(__file__).resolve().parent.parent / "apps" / "sample" / "uidt.toml"
SAMPLE = "org.example.sample"
HOLD_S = 5.0  # a safety net only: the tests release every held write long before


class SlowDisk(MemoryJobStore):
    """Job writes block until released, as on a disk whose fsync takes seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.writing = threading.Event()
        self.threads: set[int] = set()
        self.timed_out = 0

    def put_job(self, record: JobRecord) -> None:
        self.threads.add(threading.get_ident())
        self.writing.set()
        if not self.release.wait(HOLD_S):
            self.timed_out += 1
        super().put_job(record)


class IdleHost:
    """An app host that binds and starts nothing (these tests are about the store)."""

    async def bind(self, *_args: object) -> None:
        return None

    async def start_job(self, *_args: object) -> None:
        return None

    async def stop_job(self, *_args: object) -> None:
        return None

    async def network_changed(self, *_args: object) -> None:
        return None

    async def kill(self, *_args: object) -> None:
        return None

    async def unbind(self, *_args: object) -> None:
        return None


def _job(job_id: int) -> JobInfo:
    # Persisted, and not due for an hour: it is written, never bound or started.
    return (
        JobInfo.Builder(job_id, "sample_app:SampleService")
        .set_persisted(True)
        .set_minimum_latency(3_600_000)
        .build()
    )


class Ticker:
    """Counts turns of the loop (every ~1 ms) and keeps the longest gap between two."""

    def __init__(self) -> None:
        self.ticks = 0
        self.max_gap_s = 0.0
        self._wanted = 0
        self._reached = asyncio.Event()

    async def run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.001)
            now = time.monotonic()
            self.max_gap_s = max(self.max_gap_s, now - last)
            last = now
            self.ticks += 1
            if self.ticks >= self._wanted:
                self._reached.set()

    async def wait_ticks(self, more: int) -> None:
        self._wanted = self.ticks + more
        self._reached.clear()
        await asyncio.wait_for(self._reached.wait(), HOLD_S * 2)


@pytest.fixture
async def disk() -> SlowDisk:
    return SlowDisk()


@pytest.fixture
async def runtime(disk: SlowDisk) -> AsyncIterator[Runtime]:
    clock = FakeClock()
    device = FakeDeviceSource()
    service = JobSchedulerService(
        clock=clock, settings=Settings(), device=device.snapshot(), installed_memory_bytes=8 << 30
    )
    runtime = Runtime(service=service, store=disk, host=IdleHost(), device=device, clock=clock)
    runtime.load()
    runtime.apps.install_file(str(SAMPLE_MANIFEST))
    try:
        yield runtime
    finally:
        disk.release.set()
        close = getattr(runtime.store, "close", None)
        if close is not None and runtime.store is not disk:
            close()


async def test_a_slow_store_write_does_not_stall_the_loop(runtime: Runtime, disk: SlowDisk) -> None:
    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    try:
        await ticker.wait_ticks(3)
        runtime.schedule(SAMPLE, None, _job(1), None, peer_pid=None)  # as the API handler does
        assert await asyncio.to_thread(disk.writing.wait, HOLD_S)
        await ticker.wait_ticks(20)  # the loop keeps turning while the write is held
        held_gap = ticker.max_gap_s
        disk.release.set()
    finally:
        ticking.cancel()
    assert threading.get_ident() not in disk.threads, (
        f"the store was written on the event loop's thread (loop stalled {held_gap:.2f} s)"
    )
    assert disk.timed_out == 0, f"a write waited out its hold: the loop stalled {held_gap:.2f} s"
    await asyncio.wait_for(runtime.store.sync(), HOLD_S)
    assert disk.get_job(JobKey(SAMPLE, None, 1)) is not None


async def _post(port: int, path: str, body: dict[str, object]) -> asyncio.Task[bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps(body).encode()
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
        + data
    )
    await writer.drain()

    async def answer() -> bytes:
        try:
            return await reader.read()
        finally:
            writer.close()

    return asyncio.create_task(answer())


async def test_schedule_answers_only_once_its_job_is_on_disk(
    runtime: Runtime, disk: SlowDisk
) -> None:
    api = create_api(runtime)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    await api.start(listener)
    try:
        answer = await _post(port, f"/v1/apps/{SAMPLE}/jobs", {"job": _job(2).to_dict()})
        assert await asyncio.to_thread(disk.writing.wait, HOLD_S)
        ticker = Ticker()
        ticking = asyncio.create_task(ticker.run())
        await ticker.wait_ticks(50)  # the loop turns, yet no answer while the commit is held
        ticking.cancel()
        assert not answer.done(), "schedule() answered before its job was committed"
        assert disk.get_job(JobKey(SAMPLE, None, 2)) is None
        disk.release.set()
        reply = await asyncio.wait_for(answer, HOLD_S)
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
        assert disk.get_job(JobKey(SAMPLE, None, 2)) is not None
    finally:
        await api.close()


async def test_a_request_that_wrote_nothing_does_not_wait_for_other_writes(
    runtime: Runtime, disk: SlowDisk
) -> None:
    """``shutdown`` answers while another write's commit is held (the daemon then stops)."""
    api = create_api(runtime)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    await api.start(listener)
    try:
        runtime.schedule(SAMPLE, None, _job(3), None, peer_pid=None)
        assert await asyncio.to_thread(disk.writing.wait, HOLD_S)
        answer = await _post(port, "/v1/shutdown", {})
        reply = await asyncio.wait_for(answer, HOLD_S)
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
        assert disk.get_job(JobKey(SAMPLE, None, 3)) is None  # still held
    finally:
        disk.release.set()
        await api.close()
