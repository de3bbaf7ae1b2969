"""The daemon's side of app hosting: one worker process per app, and the messages to and from it.

:class:`AppHost` decides nothing. It starts workers (``python -m uidt.host.worker`` with the app's
interpreter, in a new session so that a kill takes the whole process group), forwards the core's
start/stop requests, and reports facts back to a :class:`HostListener`: bound, bind failed, the
app's replies and calls, crashes, and process death (end of stream or exit). A worker that sends
a malformed frame is killed and reported dead; the daemon carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from uidt.app.manifest import Manifest
from uidt.errors import InvalidJobError, ProtocolError
from uidt.host import protocol
from uidt.job.notification import EndPolicy, Notification
from uidt.job.params import JobParameters
from uidt.job.reasons import InternalStopReason, StopReason

log = logging.getLogger("uidt.host")


class HostListener(Protocol):
    """Facts the host reports (the runtime forwards them to the scheduler core)."""

    def on_bound(self, app: str) -> None: ...
    def on_bind_failed(self, app: str) -> None: ...
    def on_start_job_result(self, run_id: int, wants_to_run: bool) -> None: ...
    def on_stop_job_result(self, run_id: int, wants_reschedule: bool) -> None: ...
    def on_job_finished(self, run_id: int, wants_reschedule: bool) -> None: ...
    def on_set_notification(
        self, run_id: int, notification_id: int, notification: Notification, end_policy: EndPolicy
    ) -> None: ...
    def on_update_estimated_bytes(self, run_id: int, download: int, upload: int) -> None: ...
    def on_update_transferred_bytes(self, run_id: int, download: int, upload: int) -> None: ...
    def on_process_died(self, app: str) -> None: ...
    def on_job_crashed(self, app: str, run_id: int, traceback: str) -> None: ...


@dataclass
class _Worker:
    app: str
    process: asyncio.subprocess.Process
    writer: asyncio.StreamWriter
    reader_task: asyncio.Task[None] | None = None
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message: dict[str, Any]) -> None:
        if not self.writer.is_closing():
            self.writer.write(protocol.encode(message))

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


class AppHost:
    """Workers of every app, keyed by package name."""

    def __init__(
        self,
        listener: HostListener,
        *,
        log_dir: Path | None = None,
        idle_timeout_s: float = 60.0,
        hello_timeout_s: float = 18.0,
    ) -> None:
        self.listener = listener
        self.log_dir = log_dir
        self.idle_timeout_s = idle_timeout_s
        self.hello_timeout_s = hello_timeout_s
        self.workers: dict[str, _Worker] = {}
        self._binding: set[str] = set()

    # -- operations ----------------------------------------------------------------------------

    async def bind(self, manifest: Manifest) -> None:
        """Make sure the app's worker runs; reports ``on_bound`` or ``on_bind_failed``."""
        app = manifest.package
        if app in self.workers:
            self.listener.on_bound(app)
            return
        if app in self._binding:
            return
        self._binding.add(app)
        try:
            worker = await self._launch(manifest)
        except (OSError, ProtocolError, TimeoutError) as exc:
            log.error("could not start the worker of %s: %s", app, exc)
            self.listener.on_bind_failed(app)
            return
        finally:
            self._binding.discard(app)
        self.workers[app] = worker
        worker.reader_task = asyncio.get_running_loop().create_task(self._read(worker))
        self.listener.on_bound(app)

    async def _launch(self, manifest: Manifest) -> _Worker:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = dict(os.environ)
        paths = [p for p in (manifest.root, env.get("PYTHONPATH")) if p]
        if paths:
            env["PYTHONPATH"] = os.pathsep.join(paths)
        out: Any = asyncio.subprocess.DEVNULL
        if self.log_dir is not None:
            out = _open_log(self.log_dir, manifest.package)
        try:
            process = await asyncio.create_subprocess_exec(
                manifest.python or sys.executable,
                "-m",
                "uidt.host.worker",
                "--fd",
                str(child.fileno()),
                "--app",
                manifest.package,
                "--channels",
                ",".join(c.id for c in manifest.channels),
                "--idle-timeout",
                str(self.idle_timeout_s),
                pass_fds=(child.fileno(),),
                start_new_session=True,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        finally:
            child.close()
            if out is not asyncio.subprocess.DEVNULL:
                out.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent)
        worker = _Worker(manifest.package, process, writer)
        try:
            hello = await asyncio.wait_for(
                protocol.read_frame(reader, protocol.FROM_WORKER), self.hello_timeout_s
            )
            if hello is None or hello.get("type") != "hello":
                raise ProtocolError(f"worker of {manifest.package} did not say hello")
            if hello.get("version") != protocol.VERSION:
                raise ProtocolError(f"worker speaks protocol {hello.get('version')}")
        except BaseException:
            worker.kill()
            writer.close()
            await process.wait()
            raise
        worker.reader = reader  # type: ignore[attr-defined]
        return worker

    async def start_job(self, app: str, run_id: int, service: str, params: JobParameters) -> None:
        worker = self.workers.get(app)
        if worker is None:
            self.listener.on_process_died(app)
            return
        worker.send(
            {"type": "start", "run_id": run_id, "service": service, "params": params.to_dict()}
        )

    async def stop_job(
        self,
        app: str,
        run_id: int,
        stop_reason: StopReason,
        internal_reason: InternalStopReason,
    ) -> None:
        worker = self.workers.get(app)
        if worker is not None:
            worker.send(
                {
                    "type": "stop",
                    "run_id": run_id,
                    "stop_reason": int(stop_reason),
                    "internal_reason": int(internal_reason),
                }
            )

    async def kill(self, app: str) -> None:
        """SIGKILL the app's whole process group; death is reported by the reader."""
        worker = self.workers.get(app)
        if worker is None:
            self.listener.on_process_died(app)
            return
        worker.kill()

    async def unbind(self, app: str) -> None:
        """Nothing to do: an idle worker exits by itself after ``idle_timeout_s``."""

    def pid_of(self, app: str) -> int | None:
        worker = self.workers.get(app)
        return None if worker is None else worker.pid

    async def close(self) -> None:
        """Kill every worker and wait for them."""
        for worker in list(self.workers.values()):
            worker.kill()
        tasks = [w.reader_task for w in self.workers.values() if w.reader_task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- the reader ----------------------------------------------------------------------------

    async def _read(self, worker: _Worker) -> None:
        reader: asyncio.StreamReader = worker.reader  # type: ignore[attr-defined]
        try:
            while True:
                message = await protocol.read_frame(reader, protocol.FROM_WORKER)
                if message is None:
                    break
                self._dispatch(worker, message)
        except (ProtocolError, ConnectionError, KeyError, TypeError, ValueError) as exc:
            log.error("worker of %s broke the protocol: %s; killing it", worker.app, exc)
        finally:
            worker.kill()
            worker.writer.close()
            with contextlib.suppress(Exception):
                await worker.process.wait()
            if self.workers.get(worker.app) is worker:
                del self.workers[worker.app]
            log.info("worker of %s exited (status %s)", worker.app, worker.process.returncode)
            self.listener.on_process_died(worker.app)

    def _dispatch(self, worker: _Worker, message: dict[str, Any]) -> None:
        kind = message["type"]
        listener = self.listener
        if kind == "start_result":
            listener.on_start_job_result(int(message["run_id"]), bool(message["wants_to_run"]))
        elif kind == "stop_result":
            listener.on_stop_job_result(int(message["run_id"]), bool(message["wants_reschedule"]))
        elif kind == "crashed":
            listener.on_job_crashed(worker.app, int(message["run_id"]), str(message["traceback"]))
        elif kind == "call":
            self._call(int(message["run_id"]), str(message["method"]), message.get("args") or {})
        elif kind == "pong":
            pass
        else:
            raise ProtocolError(f"unexpected {kind!r} from the worker of {worker.app}")

    def _call(self, run_id: int, method: str, args: dict[str, Any]) -> None:
        listener = self.listener
        if method == "job_finished":
            listener.on_job_finished(run_id, bool(args["wants_reschedule"]))
        elif method == "set_notification":
            try:
                listener.on_set_notification(
                    run_id,
                    int(args["notification_id"]),
                    Notification.from_dict(args["notification"]),
                    EndPolicy(int(args["end_policy"])),
                )
            except InvalidJobError as exc:
                log.warning("set_notification of run %d refused: %s", run_id, exc)
        elif method == "update_estimated_bytes":
            listener.on_update_estimated_bytes(run_id, int(args["download"]), int(args["upload"]))
        elif method == "update_transferred_bytes":
            listener.on_update_transferred_bytes(run_id, int(args["download"]), int(args["upload"]))
        else:
            raise ProtocolError(f"unknown call {method!r}")


def _open_log(log_dir: Path, app: str) -> Any:
    """The worker's stdout/stderr file (appended), in the daemon's log folder."""
    log_dir.mkdir(parents=True, exist_ok=True)
    return open(log_dir / f"worker-{app}.log", "ab")
