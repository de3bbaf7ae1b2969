"""The daemon's ``bandwidth_limit`` message reaches the run's service, before or after its start."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from uidt.host import messages as msg
from uidt.host import protocol
from uidt.host.worker import Worker

from .conftest import APPS, log_lines, params

SERVICE = "host_app:LimitService"


async def _wait_lines(folder: Path, job_id: int, count: int) -> list[str]:
    for _ in range(500):  # bounded: 5 s at most
        lines = log_lines(folder, job_id)
        if len(lines) >= count:
            return lines
        await asyncio.sleep(0.01)
    return log_lines(folder, job_id)


@pytest.fixture
async def worker_pair(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Task[str]]:
    monkeypatch.syspath_prepend(str(APPS / "hosttest"))
    worker = Worker("org.test.host", frozenset({"work"}), idle_timeout=30)
    ours, theirs = socket.socketpair()
    task = asyncio.get_running_loop().create_task(worker.serve(theirs))
    reader, writer = await asyncio.open_unix_connection(sock=ours)
    assert isinstance(await protocol.read_frame(reader, protocol.FROM_WORKER), msg.Hello)
    return reader, writer, task


async def test_a_share_sent_right_after_start_is_in_the_params_at_start(
    tmp_path: Path,
    worker_pair: tuple[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Task[str]],
) -> None:
    reader, writer, task = worker_pair
    # the daemon sends start, then the share, in one go: on_start_job sees the share
    writer.write(protocol.encode(msg.Start(5, SERVICE, params(1, 5, tmp_path).to_dict())))
    writer.write(protocol.encode(msg.BandwidthLimit(5, 1024)))
    started = await protocol.read_frame(reader, protocol.FROM_WORKER)
    assert started == msg.StartResult(5, True)
    writer.write(protocol.encode(msg.BandwidthLimit(5, 4096)))
    writer.write(protocol.encode(msg.BandwidthLimit(5, None)))
    writer.write(protocol.encode(msg.BandwidthLimit(99, 7)))  # no such run: kept, no call
    lines = await _wait_lines(tmp_path, 1, 3)
    assert lines == ["start 5 1024", "limit 5 4096", "limit 5 None"]
    writer.close()
    assert await asyncio.wait_for(task, 10) == "closed"


async def test_a_service_that_raises_on_a_change_is_reported_as_a_crash(
    tmp_path: Path,
    worker_pair: tuple[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Task[str]],
) -> None:
    reader, writer, task = worker_pair
    start = msg.Start(6, SERVICE, params(2, 6, tmp_path, mode="raise").to_dict())
    writer.write(protocol.encode(start))
    assert await protocol.read_frame(reader, protocol.FROM_WORKER) == msg.StartResult(6, True)
    writer.write(protocol.encode(msg.BandwidthLimit(6, 2048)))
    crashed = await protocol.read_frame(reader, protocol.FROM_WORKER)
    assert isinstance(crashed, msg.Crashed)
    assert (crashed.run_id, crashed.phase) == (6, "on_bandwidth_limit_changed")
    writer.close()
    assert await asyncio.wait_for(task, 10) == "closed"
