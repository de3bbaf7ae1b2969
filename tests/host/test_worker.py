"""The worker's own code, driven directly over a socket pair (no daemon)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from uidt.app.invoke import load_service
from uidt.errors import ProtocolError
from uidt.host import messages as msg
from uidt.host import protocol
from uidt.host.worker import Worker, _safe_str, exception_type_name

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
    assert isinstance(hello, msg.Hello)
    assert hello.version == protocol.VERSION
    return reader, writer, task


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_a_crash_names_the_exception_as_a_traceback_does() -> None:
    assert exception_type_name(ValueError("x")) == "ValueError"
    assert exception_type_name(ProtocolError("x")) == "uidt.errors.ProtocolError"
    assert exception_type_name(_Unprintable()) == f"{__name__}._Unprintable"
    assert exception_type_name(None) == "Exception"
    # an app's exception whose str() raises must not break the crash report
    assert _safe_str(_Unprintable()) == "<exception str() failed>"
    assert _safe_str(KeyError("k")) == "'k'"


async def test_the_worker_answers_and_ends_on_a_bad_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(APPS / "hosttest"))
    worker = Worker("org.test.host", frozenset({"work"}), idle_timeout=30)
    reader, writer, task = await _pair(worker)
    writer.write(protocol.encode(msg.Ping(4)))
    assert await protocol.read_frame(reader, protocol.FROM_WORKER) == msg.Pong(4)
    start = msg.Start(2, "host_app:ModeService", params(1, 2, tmp_path, mode="refused").to_dict())
    writer.write(protocol.encode(start))
    call = await protocol.read_frame(reader, protocol.FROM_WORKER)
    assert isinstance(call, msg.SetNotification)
    assert call.run_id == 2
    assert call.request_id is not None
    writer.write(protocol.encode(msg.Reply(call.request_id, "no")))
    finished = await protocol.read_frame(reader, protocol.FROM_WORKER)
    assert isinstance(finished, msg.JobFinished)
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


async def test_the_worker_imports_its_services_right_after_hello(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(APPS / "hosttest"))
    monkeypatch.delitem(sys.modules, "host_app", raising=False)
    worker = Worker(
        "org.test.host", frozenset(), idle_timeout=30, preload=("host_app:ModeService",)
    )
    _, writer, task = await _pair(worker)
    # The preload thread sets the event when its import is done (no start was sent).
    assert await asyncio.to_thread(worker._preloaded.wait, 10)
    assert "host_app" in sys.modules
    writer.close()
    assert await asyncio.wait_for(task, 10) == "closed"


async def test_a_service_that_fails_to_preload_fails_its_start_only(tmp_path: Path) -> None:
    worker = Worker("org.test.host", frozenset(), idle_timeout=30, preload=("no_such_mod:Nope",))
    reader, writer, task = await _pair(worker)
    assert await asyncio.to_thread(worker._preloaded.wait, 10)
    writer.write(
        protocol.encode(msg.Start(3, "no_such_mod:Nope", params(1, 3, tmp_path).to_dict()))
    )
    crashed = await protocol.read_frame(reader, protocol.FROM_WORKER)
    assert isinstance(crashed, msg.Crashed)
    assert (crashed.run_id, crashed.phase) == (3, "import")
    assert "no_such_mod" in crashed.traceback
    writer.close()
    assert await asyncio.wait_for(task, 10) == "closed"


def test_the_worker_module_imports_no_service_and_no_aiohttp() -> None:
    # Nor JobInfo and its validation (uidt.job is lazy): they paid for msgspec's import.
    code = (
        "import sys, uidt.host.worker; "
        "heavy = [m for m in ('aiohttp', 'uidt.transfers.service', 'rich', 'uidt.job.info', "
        "'uidt.server', 'argparse') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
