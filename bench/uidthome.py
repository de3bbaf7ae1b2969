"""A benchmark's uidt home and its daemon, and the CPU time of process trees.

:class:`UidtHome` is a temporary home whose daemon a benchmark starts (or leaves to the CLI, or
to socket activation), measures (the CPU time of the daemon and its workers, read from
``/proc``) and stops with its whole process tree. :func:`become_subreaper` keeps every process
a benchmark starts, the daemons the CLI starts included, in the harness's own tree.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _tree(root: int) -> list[int]:
    """``root`` and its living descendants (from ``/proc``)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of ``root`` and its descendants (0 for what has gone)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in _tree(root):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


class UidtHome:
    """A temporary uidt home; knows its daemon (if any), its CPU time and how to stop it."""

    def __init__(self, parent: Path) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="home-", dir=parent))

    def daemon_pid(self) -> int | None:
        """The daemon's pid from ``daemon.pid``, if it is running."""
        with contextlib.suppress(OSError, ValueError):
            pid = int((self.path / "daemon.pid").read_text().split()[0])
            os.kill(pid, 0)
            return pid
        return None

    def start(self) -> None:
        """Start the daemon (``uidt daemon`` returns once it answers)."""
        subprocess.run(
            [sys.executable, "-m", "uidt", "--home", str(self.path), "daemon"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def listen(self, extra_env: dict[str, str] | None = None, python: str | None = None) -> None:
        """Listen on the home's socket as ``uidt.socket`` does: ``systemd-socket-activate`` starts
        the unit's command (:func:`uidt.autostart.units.daemon_argv`) on the first connection.

        The daemon gets ``PATH``, ``HOME``, ``USER`` and ``TERM`` from this process (that is
        all ``systemd-socket-activate`` passes on) and ``extra_env``; ``python`` runs it (default:
        this interpreter)."""
        from uidt.autostart.units import daemon_argv
        from uidt.home.paths import resolve_paths

        paths = resolve_paths(self.path)
        env = [f"--setenv={name}={value}" for name, value in (extra_env or {}).items()]
        command = daemon_argv(paths, python)
        argv = ["systemd-socket-activate", "-l", str(paths.socket), *env, *command]
        subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not paths.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.01)  # noqa: TID251 - polling for another process to listen

    def cpu_seconds(self) -> float:
        """CPU time of the daemon and its workers so far."""
        pid = self.daemon_pid()
        return 0.0 if pid is None else tree_cpu_seconds(pid)

    def stop(self) -> None:
        """SIGTERM the daemon, wait for its process tree to end, delete the home."""
        pid = self.daemon_pid()
        if pid is not None:
            tree = _tree(pid)
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            for member in tree:
                while time.monotonic() < deadline and _alive(member):
                    time.sleep(0.02)  # noqa: TID251 - polling for another process to exit
            for member in tree:
                if _alive(member):
                    os.kill(member, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(member, os.WNOHANG)  # our child when we are the subreaper
        shutil.rmtree(self.path, ignore_errors=True)


def become_subreaper() -> None:
    """Adopt orphaned descendants (the daemon the CLI starts), so one process tree holds all."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        pr_set_child_subreaper = 36
        ctypes.CDLL(None).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
