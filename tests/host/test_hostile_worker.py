"""A worker that lies about its message types is cut off, never believed.

The fake worker is a real process that says a correct hello and then sends one hand-made frame;
the daemon side must treat a wrongly typed field as a protocol error (kill, ``ProcessDied``),
not cast it into something that reads as an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from typing import Any

import pytest

from uidt.host import protocol
from uidt.host.apphost import AppHost
from uidt.host.events import EventQueue, HostEvent, ProcessDied, StartResult
from uidt.packages.manifest import Manifest

from .conftest import APP

# Says hello, sends the frames given as JSON in argv[2], then waits to be killed.
SCRIPT = """
import json, os, struct, sys, time
fd = int(sys.argv[1])
def send(message):
    body = json.dumps(message).encode()
    os.write(fd, struct.pack(">I", len(body)) + body)
send({"type": "hello", "version": int(sys.argv[3]), "app": sys.argv[4], "pid": os.getpid()})
for frame in json.loads(sys.argv[2]):
    send(frame)
time.sleep(60)
"""


class _Process:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    async def wait(self) -> int | None:
        return await self.process.wait()


class _Scripted:
    """Starts :data:`SCRIPT` as the app's worker, sending ``frames`` after its hello."""

    def __init__(self, frames: list[dict[str, Any]]) -> None:
        self.frames = frames

    async def launch(self, manifest: Manifest, sock: socket.socket, idle_timeout_s: float) -> Any:
        fd = sock.fileno()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                SCRIPT,
                str(fd),
                json.dumps(self.frames),
                str(protocol.VERSION),
                manifest.package,
                pass_fds=[fd],
                start_new_session=True,
            )
        finally:
            sock.close()
        return _Process(process)


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "start_result", "run_id": 1, "wants_to_run": "false"},
        {"type": "start_result", "run_id": "1", "wants_to_run": True},
        {"type": "stop_result", "run_id": 1, "wants_reschedule": 0},
        {"type": "crashed", "run_id": 1, "traceback": ["not", "text"]},
        {"type": "pong", "seq": 1.5},
    ],
    ids=["bool-as-text", "run-id-as-text", "bool-as-int", "traceback-as-list", "seq-as-float"],
)
async def test_a_wrongly_typed_field_kills_the_worker(
    manifest: Manifest, frame: dict[str, Any]
) -> None:
    events = EventQueue()
    host = AppHost(events, launcher=_Scripted([frame]), idle_timeout_s=30)
    seen: list[HostEvent] = []
    try:
        await host.bind(manifest)
        while not isinstance(event := await events.get(10), ProcessDied):
            seen.append(event)
    finally:
        await host.close()
    assert event.app == APP
    assert [type(e).__name__ for e in seen] == ["Bound"]  # nothing the frame claimed


async def test_a_sink_that_fails_on_a_good_message_is_logged_as_ours_and_the_worker_ends(
    manifest: Manifest, caplog: pytest.LogCaptureFixture
) -> None:
    events = EventQueue()

    def sink(event: HostEvent) -> None:
        if isinstance(event, StartResult):
            raise RuntimeError("a bug in the daemon")
        events(event)

    frame = {"type": "start_result", "run_id": 1, "wants_to_run": True}
    host = AppHost(sink, launcher=_Scripted([frame]), idle_timeout_s=30)
    try:
        await host.bind(manifest)
        while not isinstance(await events.get(10), ProcessDied):
            pass
    finally:
        await host.close()
    assert "was not handled" in caplog.text
    assert "broke the protocol" not in caplog.text
