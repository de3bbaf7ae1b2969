"""The worker's command line, environment and log file (shared by every way of starting one)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO

from uidt.home.logfiles import open_capped_log
from uidt.packages.manifest import Manifest

#: The worker's environment variable naming the daemon that started it (its parent).
DAEMON_PID_ENV = "UIDT_DAEMON_PID"


def worker_command(manifest: Manifest, fd: int, idle_timeout_s: float) -> list[str]:
    """``python -m uidt.host.worker`` with the app's interpreter, socket fd and services."""
    return [
        manifest.python or sys.executable,
        "-m",
        "uidt.host.worker",
        "--fd",
        str(fd),
        "--app",
        manifest.package,
        "--channels",
        ",".join(c.id for c in manifest.channels),
        "--idle-timeout",
        str(idle_timeout_s),
        "--preload",
        ",".join(s.name for s in manifest.services),
    ]


def worker_environment(
    manifest: Manifest, extra_env: dict[str, str] | None = None
) -> dict[str, str]:
    """Our environment plus ``extra_env``, the manifest's folder first on ``PYTHONPATH``, and
    the daemon's pid (:data:`DAEMON_PID_ENV`: a later run that finds
    a part file locked tells from it whether the holder's daemon is gone)."""
    env = dict(os.environ)
    env.update(extra_env or {})
    env[DAEMON_PID_ENV] = str(os.getpid())
    paths = [p for p in (manifest.root, env.get("PYTHONPATH")) if p]
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def open_worker_log(log_dir: Path, app: str) -> IO[bytes]:
    """The worker's stdout/stderr file (appended; rotated first if it has grown too big)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    return open(open_capped_log(log_dir / f"worker-{app}.log"), "ab")
