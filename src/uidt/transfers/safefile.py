"""Opening, locking and trusting the files of a download where other users can reach them.

A download writes ``DEST.part`` and ``DEST.uidt`` next to ``DEST``, often in a folder others can
write too (``/tmp``, a shared project folder). Three rules keep another user out:

* **Never through a link.** Every open of the part file and the checkpoint uses ``O_NOFOLLOW``,
  and a new file is created with ``O_EXCL`` (mode 0600), so a symbolic link planted under one
  of those names is never written through. Publishing is a ``rename(2)``, which replaces a link
  at ``DEST`` itself rather than the file it points to.
* **Resume only from files that are surely the user's**: a regular file owned by the user, with
  no write access for group or others and a single link (:func:`untrusted_reason`). Anything
  else is removed and the download starts from zero, saying so; if it cannot be removed (another
  user's file in a sticky folder such as ``/tmp``), the download stops with a clear error.
* **One writer.** :class:`PartLock` holds an exclusive ``flock`` on the part file from before the
  checkpoint is read until the file is published, so a second process (a second daemon with
  another home, ``uidt download --foreground`` beside the daemon, ``python -m uidt.transfers``)
  gets :class:`~uidt.errors.DestinationBusyError` naming the holder's pid instead of mixing its
  bytes into the same file.

The published file gets the mode the caller's umask gives (:func:`mode_for_umask`), not the
daemon's: the part file stays 0600 while it is incomplete.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from pathlib import Path

from uidt.errors import DestinationBusyError, UnsafeFileError

#: Mode of the part file and the checkpoint while the download runs (the user's only).
PRIVATE_MODE = 0o600
_OPEN_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
#: Attempts at opening and locking a part file that others keep replacing.
_LOCK_ATTEMPTS = 5


def current_umask() -> int:
    """This process's umask, read without changing it (Linux: ``/proc/self/status``)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        pass
    mask = os.umask(0o022)  # pragma: no cover - briefly changes the process's umask
    os.umask(mask)  # pragma: no cover
    return mask  # pragma: no cover


def mode_for_umask(umask: int) -> int:
    """The mode a new file gets under ``umask`` (as ``open(..., 0o666)`` would give it)."""
    return 0o666 & ~umask & 0o777


def _owner_name(uid: int) -> str:
    try:
        import pwd

        return f"user {pwd.getpwuid(uid).pw_name!r} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def untrusted_reason(st: os.stat_result) -> str | None:
    """Why a file with status ``st`` must not be resumed from, or ``None`` if it may.

    A file qualifies when it is a regular file, owned by this process's user, not writable by
    group or others, and has one link (a hard link would let its other name change it).
    """
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_uid != os.geteuid():
        return f"belongs to {_owner_name(st.st_uid)}"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"can be written by other users (mode {stat.S_IMODE(st.st_mode):04o})"
    if st.st_nlink != 1:
        return f"has {st.st_nlink} hard links"
    return None


def open_nofollow(path: Path, flags: int, mode: int = PRIVATE_MODE) -> int:
    """``os.open`` that never follows a link at ``path`` (a link raises :class:`UnsafeFileError`).

    Clears ``O_NONBLOCK`` again once open (it is only there so a planted FIFO cannot hang
    the open).
    """
    try:
        fd = os.open(path, flags | _OPEN_FLAGS, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFileError(
                errno.ELOOP, f"{path} is a symbolic link; uidt does not write through links"
            ) from None
        raise
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return fd


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    """Whether two stats describe the same inode."""
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def remove_untrusted(path: Path, reason: str) -> None:
    """Delete a file that must not be used; :class:`UnsafeFileError` when that is not allowed."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UnsafeFileError(
            exc.errno,
            f"{path} {reason} and cannot be removed ({exc.strerror}); uidt will not use it: "
            "remove it or choose another destination",
        ) from None


def lock_holder(fd: int) -> int | None:
    """The pid holding a ``flock`` on the file open at ``fd`` (from ``/proc/locks``), if known."""
    st = os.fstat(fd)
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as locks:
            for line in locks:
                fields = line.split()
                # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (a "->" marks a waiter)
                if "->" in fields or "FLOCK" not in fields or len(fields) < 6:
                    continue
                at = fields.index("FLOCK")
                pid, where = fields[at + 3], fields[at + 4]
                if where == wanted and pid.lstrip("-").isdigit() and int(pid) > 0:
                    return int(pid)
    except OSError:  # pragma: no cover - no /proc
        return None
    return None


class PartLock:
    """The part file at ``path``, opened safely and locked exclusively until :meth:`release`.

    :meth:`acquire` opens an existing part file (never through a link), or creates a new one
    with ``O_EXCL`` and mode 0600; removes one that is not surely the user's (see
    :func:`untrusted_reason`) and creates a fresh one; takes a non-blocking exclusive ``flock``;
    and checks that the name still leads to the locked file (a writer that finished meanwhile
    renamed it away). The descriptor (:attr:`fd`) then stays open and locked for the whole
    transfer; the part file's writes go through a duplicate of it.
    """

    def __init__(self, path: Path, dest: Path) -> None:
        self.path = path
        self.dest = dest
        self.fd: int | None = None
        self.created = False  # this lock created the file (an empty one is removed on release)
        #: Why a file found at :attr:`path` was removed instead of resumed, if one was.
        self.replaced: str | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def acquire(self) -> None:
        """Open and lock the part file.

        Raises:
            DestinationBusyError: Another process holds the lock.
            UnsafeFileError: A file there is not the user's and cannot be removed.
            OSError: The folder cannot be written.
        """
        if self.fd is not None:
            return
        for _ in range(_LOCK_ATTEMPTS):
            fd = self._open()
            if fd is None:
                continue
            try:
                if self._lock(fd):
                    self.fd = fd
                    return
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        raise UnsafeFileError(
            errno.EAGAIN, f"{self.path} keeps being replaced by someone else; uidt will not use it"
        )

    def _open(self) -> int | None:
        """A descriptor of a trusted part file, or ``None`` to try again."""
        try:
            fd = open_nofollow(self.path, os.O_RDWR)
        except FileNotFoundError:
            try:
                fd = open_nofollow(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                return None  # someone created it meanwhile: look again
            self.created = True
            return fd
        except UnsafeFileError:
            self._remove("is a symbolic link")
            return None
        except PermissionError:  # another user's file we may not even open
            self._remove(untrusted_reason(os.lstat(self.path)) or "cannot be opened")
            return None
        st = os.fstat(fd)
        problem = untrusted_reason(st)
        if problem is not None:
            os.close(fd)
            self._remove(problem)
            return None
        if stat.S_IMODE(st.st_mode) != PRIVATE_MODE:  # e.g. 0644 from an older uidt
            os.fchmod(fd, PRIVATE_MODE)
        return fd

    def _remove(self, reason: str) -> None:
        remove_untrusted(self.path, reason)
        self.replaced = reason

    def _lock(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = lock_holder(fd)
            busy = DestinationBusyError(
                errno.EBUSY,
                f"another transfer is writing {self.dest} (pid {pid if pid else '?'})",
            )
            busy.holder_pid = pid
            raise busy from None
        try:
            now = os.lstat(self.path)
        except FileNotFoundError:
            return False
        return same_file(now, os.fstat(fd))

    def check_still_ours(self) -> None:
        """Raise :class:`UnsafeFileError` unless :attr:`path` still names the locked file."""
        assert self.fd is not None
        try:
            now = os.lstat(self.path)
        except FileNotFoundError:
            now = None
        if now is None or not same_file(now, os.fstat(self.fd)):
            raise UnsafeFileError(
                errno.ESTALE,
                f"{self.path} was replaced by someone else during the download; "
                "nothing was published",
            )

    def publish(self, mode: int) -> None:
        """Give the locked file ``mode``, rename it to :attr:`dest` and release the lock.

        ``rename(2)`` never follows a link: one planted at ``dest`` is replaced, not written.

        Raises:
            UnsafeFileError: :attr:`path` no longer names the locked file.
        """
        assert self.fd is not None
        try:
            self.check_still_ours()
            os.fchmod(self.fd, mode)
            os.replace(self.path, self.dest)
        finally:
            self.release()

    def release(self) -> bool:
        """Unlock and close (a no-op when not held).

        A part file this lock created that is still empty is removed first (a run that failed
        before its first byte leaves nothing behind).

        Returns:
            Whether that empty part file was removed.
        """
        fd, self.fd = self.fd, None
        removed = False
        if fd is not None:
            created, self.created = self.created, False
            with contextlib.suppress(OSError):
                st = os.fstat(fd)
                if created and st.st_size == 0 and same_file(os.lstat(self.path), st):
                    self.path.unlink()
                    removed = True
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the last descriptor drops the flock
        return removed
