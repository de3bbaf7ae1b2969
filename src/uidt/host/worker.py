"""The app worker process: ``python -m uidt.host.worker --fd N --app PKG``.

One worker hosts every running ``JobService`` of one app, on one asyncio loop. It imports services
lazily (an unimportable one fails that start only), runs plain callbacks in threads so they cannot
block its message loop, reports an exception escaping a callback as ``crashed`` (the daemon then
kills the process, as Android kills a crashing app), and exits when the daemon's end of the socket
closes or when it has had no job for ``--idle-timeout`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import inspect
import os
import socket
import sys
import traceback
from typing import Any

from uidt.app.service import JobService
from uidt.errors import ProtocolError
from uidt.host import protocol
from uidt.job.params import JobParameters
from uidt.job.reasons import StopReason


class WorkerConnection:
    """The services' channel to the daemon; ``call`` is safe from any thread."""

    def __init__(
        self,
        writer: asyncio.StreamWriter,
        loop: asyncio.AbstractEventLoop,
        channels: frozenset[str],
    ) -> None:
        self.writer = writer
        self.loop = loop
        self.channels = channels
        self.on_finished: Any = None

    def send(self, message: dict[str, Any]) -> None:
        frame = protocol.encode(message)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._write(frame)
        else:
            self.loop.call_soon_threadsafe(self._write, frame)

    def _write(self, frame: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(frame)

    def call(self, method: str, params: JobParameters, args: dict[str, Any]) -> None:
        self.send({"type": "call", "method": method, "run_id": params.run_id, "args": args})
        if method == "job_finished" and self.on_finished is not None:
            self.loop.call_soon_threadsafe(self.on_finished, params.run_id)


def load_service(name: str) -> type[JobService]:
    module_name, _, qualname = name.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not (isinstance(target, type) and issubclass(target, JobService)):
        raise TypeError(f"{name} is not a uidt.JobService subclass")
    return target


async def _invoke(method: Any, params: JobParameters) -> Any:
    if inspect.iscoroutinefunction(method):
        return await method(params)
    result = await asyncio.to_thread(method, params)
    if inspect.isawaitable(result):
        result = await result
    return result


class Worker:
    """Serves one connection from the daemon."""

    def __init__(self, app: str, channels: frozenset[str], idle_timeout: float) -> None:
        self.app = app
        self.channels = channels
        self.idle_timeout = idle_timeout
        self.services: dict[str, JobService] = {}
        self.running: dict[int, tuple[JobService, JobParameters]] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.conn: WorkerConnection | None = None
        self._idle = asyncio.Event()

    async def serve(self, sock: socket.socket) -> None:
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        loop = asyncio.get_running_loop()
        self.conn = WorkerConnection(writer, loop, self.channels)
        self.conn.on_finished = self._finished
        self.conn.send(
            {"type": "hello", "version": protocol.VERSION, "app": self.app, "pid": os.getpid()}
        )
        idle = loop.create_task(self._idle_watch())
        try:
            while True:
                message = await protocol.read_frame(reader, protocol.TO_WORKER)
                if message is None:
                    break
                self._dispatch(message)
        except ProtocolError:
            pass
        finally:
            idle.cancel()
            for task in list(self.tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    asyncio.gather(*self.tasks, return_exceptions=True), timeout=5
                )
            writer.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "ping":
            assert self.conn is not None
            self.conn.send({"type": "pong"})
        elif kind == "start":
            self._spawn(self._start(int(message["run_id"]), str(message["service"]), message))
        elif kind == "stop":
            self._spawn(self._stop(int(message["run_id"]), message))

    def _finished(self, run_id: int) -> None:
        self.running.pop(run_id, None)
        self._idle.set()

    async def _start(self, run_id: int, service_name: str, message: dict[str, Any]) -> None:
        assert self.conn is not None
        try:
            params = JobParameters.from_dict(message["params"])
            service = self.services.get(service_name)
            if service is None:
                service = load_service(service_name)()
                service.attach(self.conn)
                self.services[service_name] = service
            self.running[run_id] = (service, params)
            self._idle.set()
            wants = bool(await _invoke(service.on_start_job, params))
        except Exception:
            self.running.pop(run_id, None)
            self.conn.send(
                {"type": "crashed", "run_id": run_id, "traceback": traceback.format_exc()}
            )
            return
        if not wants:
            self.running.pop(run_id, None)
            self._idle.set()
        self.conn.send({"type": "start_result", "run_id": run_id, "wants_to_run": wants})

    async def _stop(self, run_id: int, message: dict[str, Any]) -> None:
        assert self.conn is not None
        entry = self.running.pop(run_id, None)
        self._idle.set()
        if entry is None:
            self.conn.send({"type": "stop_result", "run_id": run_id, "wants_reschedule": False})
            return
        service, params = entry
        params.stop_reason = StopReason(int(message.get("stop_reason", 0)))
        try:
            wants = bool(await _invoke(service.on_stop_job, params))
        except Exception:
            self.conn.send(
                {"type": "crashed", "run_id": run_id, "traceback": traceback.format_exc()}
            )
            return
        self.conn.send({"type": "stop_result", "run_id": run_id, "wants_reschedule": wants})

    async def _idle_watch(self) -> None:
        """Exit after ``idle_timeout`` seconds with nothing running."""
        while True:
            self._idle.clear()
            if self.running:
                await self._idle.wait()
                continue
            try:
                await asyncio.wait_for(self._idle.wait(), timeout=self.idle_timeout)
            except TimeoutError:
                if not self.running:
                    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="uidt.host.worker")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--channels", default="")
    parser.add_argument("--idle-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    sock = socket.socket(fileno=args.fd)
    channels = frozenset(c for c in args.channels.split(",") if c)
    worker = Worker(args.app, channels, args.idle_timeout)
    asyncio.run(worker.serve(sock))
    sys.exit(0)


if __name__ == "__main__":
    main()
