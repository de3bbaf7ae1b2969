"""A ``schedule()`` whose store write fails is not taken in: nothing runs, nothing is replaced.

A status never lies: the app that is told "not scheduled" (a ``store`` error) must not see its
job started, listed as scheduled, or its earlier job of the same id replaced. And the error it is
told names its own write, not another write that happened to be queued before it.

``FlakyDisk`` is a memory store whose job writes fail while ``failing`` holds the key (as a
database outage or a full disk would), deterministic and without any real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from uidt.daemon.api import create_api
from uidt.daemon.runtime import Runtime
from uidt.device.fake import FakeDeviceSource
from uidt.errors import StoreError
from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.server.service import JobSchedulerService
from uidt.settings import Settings
from uidt.store.memory import MemoryJobStore
from uidt.store.record import JobRecord
from uidt.store.sqlite import SqliteJobStore
from uidt.testing.clock import FakeClock
from uidt.testing.smalldisk import small_tmpfs

SAMPLE_MANIFEST = Path(__file__).resolve().parent.parent / "apps" / "sample" / "uidt.toml"
SAMPLE = "org.example.sample"
WAIT_S = 5.0  # a bound on each answer; a passing test never comes near it


class FlakyDisk(MemoryJobStore):
    """Job writes of the keys in ``failing`` raise ``StoreError`` (nothing is changed)."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: set[JobKey] = set()

    def put_job(self, record: JobRecord) -> None:
        if record.key in self.failing:
            raise StoreError(f"job store: writing job {record.key.job_id} failed: disk full")
        super().put_job(record)


class RecordingHost:
    """An app host that only records what it was asked to do."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def bind(self, *args: object) -> None:
        self.calls.append(("bind", args))

    async def start_job(self, *args: object) -> None:
        self.calls.append(("start_job", args))

    async def stop_job(self, *args: object) -> None:
        self.calls.append(("stop_job", args))

    async def network_changed(self, *args: object) -> None:
        self.calls.append(("network_changed", args))

    async def kill(self, *args: object) -> None:
        self.calls.append(("kill", args))

    async def unbind(self, *args: object) -> None:
        self.calls.append(("unbind", args))

    def verbs(self) -> list[str]:
        return [verb for verb, _ in self.calls]


@pytest.fixture
def disk() -> FlakyDisk:
    return FlakyDisk()


@pytest.fixture
def host() -> RecordingHost:
    return RecordingHost()


@pytest.fixture
async def runtime(disk: FlakyDisk, host: RecordingHost) -> AsyncIterator[Runtime]:
    clock = FakeClock()
    device = FakeDeviceSource()
    service = JobSchedulerService(
        clock=clock, settings=Settings(), device=device.snapshot(), installed_memory_bytes=8 << 30
    )
    runtime = Runtime(service=service, store=disk, host=host, device=device, clock=clock)
    runtime.load()
    runtime.apps.install_file(str(SAMPLE_MANIFEST))
    try:
        yield runtime
    finally:
        runtime.store.close()


@pytest.fixture
async def port(runtime: Runtime) -> AsyncIterator[int]:
    api = create_api(runtime)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    await api.start(listener)
    try:
        yield listener.getsockname()[1]
    finally:
        await api.close()


def _job(job_id: int, *, latency_ms: int = 0) -> JobInfo:
    builder = JobInfo.Builder(job_id, "sample_app:SampleService").set_persisted(True)
    if latency_ms:
        builder.set_minimum_latency(latency_ms)
    return builder.build()


async def _post(port: int, path: str, body: dict[str, object]) -> tuple[int, dict[str, Any]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps(body).encode()
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
        + data
    )
    await writer.drain()
    try:
        raw = await asyncio.wait_for(reader.read(), WAIT_S)
    finally:
        writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


async def _schedule(port: int, job: JobInfo) -> tuple[int, dict[str, Any]]:
    return await _post(port, f"/v1/apps/{SAMPLE}/jobs", {"job": job.to_dict()})


async def _settle() -> None:
    """Let the tasks the runtime spawned run (they only record calls here)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_schedule_whose_write_fails_is_not_taken_in(
    runtime: Runtime, disk: FlakyDisk, host: RecordingHost, port: int
) -> None:
    key = JobKey(SAMPLE, None, 1)
    disk.failing.add(key)
    status, body = await _schedule(port, _job(1))
    await _settle()
    assert status >= 400, body
    assert body["error"]["type"] == "store", body
    assert "job 1" in body["error"]["message"]
    assert key not in runtime.service.jobs, "the core took in a job the app was told failed"
    assert host.verbs() == [], f"a job told 'not scheduled' was bound or started: {host.calls}"
    assert disk.get_job(key) is None
    # the store is back: the same schedule goes through and runs
    disk.failing.clear()
    status, body = await _schedule(port, _job(1))
    await _settle()
    assert status == 200, body
    assert body["result"] == 1, body
    assert key in runtime.service.jobs
    assert disk.get_job(key) is not None
    assert "bind" in host.verbs()


async def test_a_failed_replacement_leaves_the_old_job_as_it_was(
    runtime: Runtime, disk: FlakyDisk, host: RecordingHost, port: int
) -> None:
    key = JobKey(SAMPLE, None, 2)
    status, body = await _schedule(port, _job(2, latency_ms=3_600_000))
    assert status == 200, body
    old = runtime.service.jobs[key]
    old_generation, old_record = old.generation, disk.get_job(key)
    disk.failing.add(key)
    status, body = await _schedule(port, _job(2))  # a different job under the same id
    await _settle()
    assert status >= 400, body
    assert body["error"]["type"] == "store", body
    assert runtime.service.jobs[key] is old, "the old job was replaced by one never stored"
    assert old.generation == old_generation
    assert old.job == _job(2, latency_ms=3_600_000)
    assert disk.get_job(key) == old_record
    assert "stop_job" not in host.verbs(), host.calls
    assert "bind" not in host.verbs(), host.calls


async def test_the_error_is_the_callers_own_write(
    runtime: Runtime, disk: FlakyDisk, port: int
) -> None:
    other = JobKey(SAMPLE, None, 9)
    disk.failing.add(other)
    # another write, queued before the request and failing (nobody waits for it)
    runtime.schedule(SAMPLE, None, _job(9, latency_ms=3_600_000), None, peer_pid=None)
    status, body = await _schedule(port, _job(3, latency_ms=3_600_000))
    assert status == 200, f"told another write's failure: {body}"
    assert body["result"] == 1, body
    assert disk.get_job(JobKey(SAMPLE, None, 3)) is not None


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs (root only; skipped otherwise), unmounted afterwards."""
    with small_tmpfs(tmp_path, "1m") as mount_point:
        yield mount_point


def _fill(directory: Path) -> None:
    """Take every free byte of ``directory``'s file system."""
    with (directory / "filler").open("wb") as filler:
        chunk = b"\0" * 65536
        with contextlib.suppress(OSError):
            while True:
                filler.write(chunk)
                filler.flush()
    with contextlib.suppress(OSError), (directory / "filler2").open("wb") as more:
        while True:
            more.write(b"\0" * 512)
            more.flush()


async def test_a_schedule_on_a_full_sqlite_disk_is_not_taken_in(
    small_disk: Path, host: RecordingHost
) -> None:
    clock = FakeClock()
    device = FakeDeviceSource()
    service = JobSchedulerService(
        clock=clock, settings=Settings(), device=device.snapshot(), installed_memory_bytes=8 << 30
    )
    store = SqliteJobStore(small_disk / "jobs.db")
    runtime = Runtime(service=service, store=store, host=host, device=device, clock=clock)
    runtime.load()
    runtime.apps.install_file(str(SAMPLE_MANIFEST))
    await runtime.store.sync()
    api = create_api(runtime)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    await api.start(listener)
    try:
        _fill(small_disk)
        big = (
            JobInfo.Builder(4, "sample_app:SampleService")
            .set_persisted(True)
            .set_extras({"blob": "x" * 200_000})
            .build()
        )
        status, body = await _schedule(listener.getsockname()[1], big)
        await _settle()
        assert status >= 400, body
        assert body["error"]["type"] == "store", body
        key = JobKey(SAMPLE, None, 4)
        assert key not in runtime.service.jobs, "the core took in a job its disk refused"
        assert host.verbs() == [], host.calls
    finally:
        await api.close()
        runtime.store.close()
    reopened = SqliteJobStore(small_disk / "jobs.db")
    try:
        assert all(r.key.job_id != 4 for r in reopened.load_jobs())
    finally:
        reopened.close()


class HeldDisk(FlakyDisk):
    """Job writes wait until ``go_on`` is set (a slow fsync), so the loop moves meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = threading.Event()
        self.go_on = threading.Event()

    def put_job(self, record: JobRecord) -> None:
        self.writing.set()
        assert self.go_on.wait(WAIT_S), "the test never let the write finish"
        super().put_job(record)


async def test_a_core_that_refuses_after_the_commit_leaves_no_stored_job(
    host: RecordingHost,
) -> None:
    """Hostile: while the job's write is being committed the app schedules two more jobs on
    the loop, reaching its limit; the core then refuses the first schedule (``JobLimitError``),
    and the store must not keep a job the core never took in."""
    disk = HeldDisk()
    clock = FakeClock()
    device = FakeDeviceSource()
    service = JobSchedulerService(
        clock=clock,
        settings=Settings(max_jobs_per_app=1),
        device=device.snapshot(),
        installed_memory_bytes=8 << 30,
    )
    runtime = Runtime(service=service, store=disk, host=host, device=device, clock=clock)
    runtime.load()
    runtime.apps.install_file(str(SAMPLE_MANIFEST))
    disk.go_on.set()
    await runtime.store.sync()
    disk.go_on.clear()
    disk.writing.clear()
    api = create_api(runtime)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    await api.start(listener)
    try:
        answer = asyncio.create_task(
            _schedule(listener.getsockname()[1], _job(5, latency_ms=3_600_000))
        )
        assert await asyncio.to_thread(disk.writing.wait, WAIT_S)
        for job_id in (6, 7):  # meanwhile, on the loop
            runtime.schedule(SAMPLE, None, _job(job_id, latency_ms=3_600_000), None, peer_pid=None)
        disk.go_on.set()
        status, body = await asyncio.wait_for(answer, WAIT_S)
        assert status >= 400, body
        assert "may not schedule more than" in body["error"]["message"], body
        await asyncio.wait_for(runtime.store.sync(), WAIT_S)
        key = JobKey(SAMPLE, None, 5)
        assert key not in runtime.service.jobs
        assert disk.get_job(key) is None, "the store kept a job the core refused"
        assert disk.get_job(JobKey(SAMPLE, None, 7)) is not None
    finally:
        disk.go_on.set()
        await api.close()
        runtime.store.close()
