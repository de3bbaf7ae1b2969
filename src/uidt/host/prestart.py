"""Start an app's worker before any event loop exists (``uidt daemon --prestart``).

The daemon starts the workers it is asked to prestart as its first act after taking the home
lock, before it imports asyncio and the rest, so the worker boots in parallel with the daemon.
The worker is the same ``python -m uidt.host.worker`` process :class:`~uidt.host.launcher.
SubprocessLauncher` starts (same command line, environment, log file and process group); the app
host later takes it over with :meth:`~uidt.host.apphost.AppHost.adopt`.

Keep this module's imports light: no asyncio at import time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from pathlib import Path

from uidt.host.command import open_worker_log, worker_command, worker_environment
from uidt.packages.manifest import Manifest


class StartedWorker:
    """A worker process started with :mod:`subprocess` (a ``WorkerProcess`` for the app host)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (it leads its own session)."""
        if self.process.returncode is not None:
            return  # reaped: its pid may belong to someone else by now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    async def wait(self) -> int | None:
        """The exit status (negative: the signal), waited for off the event loop."""
        import asyncio

        return await asyncio.to_thread(self.process.wait)

    def wait_blocking(self) -> int | None:
        """The exit status, for callers without an event loop."""
        return self.process.wait()


def start_worker(
    manifest: Manifest,
    log_dir: Path | None,
    idle_timeout_s: float,
    extra_env: dict[str, str] | None = None,
) -> tuple[StartedWorker, socket.socket]:
    """Start the app's worker now; the daemon's end of its socket pair comes with it.

    Raises:
        OSError: the process could not be started.
    """
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    out = subprocess.DEVNULL if log_dir is None else open_worker_log(log_dir, manifest.package)
    try:
        process = subprocess.Popen(
            worker_command(manifest, child.fileno(), idle_timeout_s),
            pass_fds=(child.fileno(),),
            start_new_session=True,
            env=worker_environment(manifest, extra_env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    except BaseException:
        parent.close()
        raise
    finally:
        child.close()
        if not isinstance(out, int):
            out.close()
    return StartedWorker(process), parent
