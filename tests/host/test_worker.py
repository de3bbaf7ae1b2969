"""The worker's own code, driven directly over a socket pair (no daemon)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from uidt.errors import ProtocolError
from uidt.host import protocol
from uidt.host.worker import Worker, load_service

from .conftest import APPS, log_lines, params


def test_load_service_checks_the_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(APPS / "hosttest"))
    assert load_service("host_app:ModeService").__name__ == "ModeService"
    with pytest.raises(TypeError, match=r"not a uidt\.JobService"):
        load_service("host_app:note")
    with pytest.raises(AttributeError):
        load_service("host_app:Missing")
    with pytest.raises(ModuleNotFoundError):
        load_service("no_such_module:Nope")


async def _pair(
    worker: Worker,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Task[str]]:
    ours, theirs = socket.socketpair()
    task = asyncio.get_running_loop().create_task(worker.serve(theirs))
    reader, writer = await asyncio.open_unix_connection(sock=ours)
    hello = await protocol.read_frame(reader, protocol.FROM_WORKER)
    assert hello is not None
    assert hello["type"] == "hello"
    assert hello["version"] == protocol.VERSION
    return reader, writer, task


async def test_the_worker_answers_and_ends_on_a_bad_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(APPS / "hosttest"))
    worker = Worker("org.test.host", frozenset({"work"}), idle_timeout=30)
    reader, writer, task = await _pair(worker)
    writer.write(protocol.encode({"type": "ping", "seq": 4}))
    assert await protocol.read_frame(reader, protocol.FROM_WORKER) == {"type": "pong", "seq": 4}
    start = {
        "type": "start",
        "run_id": 2,
        "service": "host_app:ModeService",
        "params": params(1, 2, tmp_path, mode="refused").to_dict(),
    }
    writer.write(protocol.encode(start))
    call = await protocol.read_frame(reader, protocol.FROM_WORKER)
    assert call is not None
    assert (call["method"], call["run_id"]) == ("set_notification", 2)
    writer.write(
        protocol.encode({"type": "reply", "request_id": call["request_id"], "error": "no"})
    )
    finished = await protocol.read_frame(reader, protocol.FROM_WORKER)
    assert finished is not None
    assert finished["method"] == "job_finished"
    assert log_lines(tmp_path, 1)[1] == "refused no"
    writer.write(b"\x00\x00\x00\x02{}")  # no type: a protocol error
    assert await asyncio.wait_for(task, 10) == "protocol"
    writer.close()


async def test_the_worker_ends_when_idle() -> None:
    worker = Worker("org.test.host", frozenset(), idle_timeout=0.05)
    _, writer, task = await _pair(worker)
    assert await asyncio.wait_for(task, 10) == "idle"
    writer.close()


def test_protocol_error_type() -> None:
    assert issubclass(ProtocolError, ValueError)
