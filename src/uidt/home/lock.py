"""One daemon per home: an exclusive ``flock`` on ``daemon.lock`` held for the daemon's life."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from uidt.errors import DaemonError


class HomeLock:
    """Holds the home's lock file; a second daemon for the same home gets a clear error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise DaemonError(
                f"another uidt daemon (pid {holder}) already runs for {self.path.parent}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> HomeLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def live_holder(path: Path) -> int | None:
    """The pid a running daemon wrote into the lock file at ``path``, if that process lives.

    Reads without locking, so that asking never gets in the way of a daemon taking the lock.
    """
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, but another user's
        return pid
    return None if _exited(pid) else pid


def _exited(pid: int) -> bool:
    """Whether ``pid`` is a zombie: it has exited (and so holds no lock), nobody reaped it yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rpartition(")")[2].split()  # after "pid (command)", which may hold spaces
    return bool(fields) and fields[0] == "Z"
