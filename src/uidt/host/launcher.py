"""How an app's worker is started: the :class:`Launcher` seam.

:class:`SubprocessLauncher` (the default) starts ``python -m uidt.host.worker`` with the app's
interpreter in a new session (its own process group), handing it one end of a socket pair;
killing it SIGKILLs the whole group, so processes the app spawned die with it, as on Android.
:class:`InProcessLauncher` runs the same worker code as a task of the current event loop (tests,
and apps whose services are importable in the daemon's process).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from pathlib import Path
from typing import IO, Any, Protocol

from uidt.host.command import open_worker_log, worker_command, worker_environment
from uidt.packages.manifest import Manifest


class WorkerProcess(Protocol):
    """A started worker: something that can be killed and waited for."""

    @property
    def pid(self) -> int | None:
        """The OS process id (``None`` for an in-process worker)."""
        ...

    def kill(self) -> None:
        """End the worker at once (no ``on_stop_job``); idempotent."""
        ...

    async def wait(self) -> int | None:
        """Wait for the end; the exit status (negative: the signal), if there is one."""
        ...


class Launcher(Protocol):
    """Starts a worker for an app, connected to ``sock`` (the worker's end of a socket pair)."""

    async def launch(
        self, manifest: Manifest, sock: socket.socket, idle_timeout_s: float
    ) -> WorkerProcess:
        """Start the worker; the launcher owns ``sock`` from here on (and closes its copy)."""
        ...


class _Subprocess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def kill(self) -> None:
        # The worker leads its own session, so its pid is its process group id.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    async def wait(self) -> int | None:
        return await self.process.wait()


class SubprocessLauncher:
    """One worker process per app, with the app's interpreter, in its own process group.

    Args:
        log_dir: the worker's stdout/stderr go to ``log_dir/worker-<app>.log`` (appended);
            ``None`` discards them.
        extra_env: variables added to the worker's environment.
    """

    def __init__(self, log_dir: Path | None = None, extra_env: dict[str, str] | None = None):
        self.log_dir = log_dir
        self.extra_env = dict(extra_env or {})

    def command(self, manifest: Manifest, fd: int, idle_timeout_s: float) -> list[str]:
        """The worker's command line."""
        return worker_command(manifest, fd, idle_timeout_s)

    def environment(self, manifest: Manifest) -> dict[str, str]:
        """The worker's environment: ours, plus the manifest's folder on ``PYTHONPATH``."""
        return worker_environment(manifest, self.extra_env)

    async def launch(
        self, manifest: Manifest, sock: socket.socket, idle_timeout_s: float
    ) -> WorkerProcess:
        out: IO[bytes] | int = asyncio.subprocess.DEVNULL
        if self.log_dir is not None:
            out = open_worker_log(self.log_dir, manifest.package)
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command(manifest, sock.fileno(), idle_timeout_s),
                pass_fds=(sock.fileno(),),
                start_new_session=True,
                env=self.environment(manifest),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        finally:
            sock.close()
            if not isinstance(out, int):
                out.close()
        return _Subprocess(process)


class _InProcess:
    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.killed = False

    @property
    def pid(self) -> int | None:
        return None

    def kill(self) -> None:
        if not self.task.done():
            self.killed = True
            self.task.cancel()

    async def wait(self) -> int | None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(self.task)
        return -signal.SIGKILL if self.killed else 0


class InProcessLauncher:
    """Runs each app's worker as a task of the running loop, over a real socket pair.

    The services must be importable in this process; callbacks share its threads. A kill cancels
    the task and closes the socket, which the host sees as the process dying.
    """

    async def launch(
        self, manifest: Manifest, sock: socket.socket, idle_timeout_s: float
    ) -> WorkerProcess:
        from uidt.host.worker import Worker

        channels = frozenset(c.id for c in manifest.channels)
        worker = Worker(manifest.package, channels, idle_timeout_s)  # its services are here already

        async def serve() -> None:
            try:
                await worker.serve(sock)
            finally:
                sock.close()

        task = asyncio.get_running_loop().create_task(serve(), name=f"worker {manifest.package}")
        return _InProcess(task)
