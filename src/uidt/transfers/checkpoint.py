"""Atomic, durable save/load of a small JSON state kept next to a file.

A :class:`Checkpoint` is how a transfer (or any app job) remembers where it got to, so that
the next run resumes even if ``on_stop_job`` was never called (a SIGKILL, a power cut)::

    state = Checkpoint(dest.with_name(dest.name + ".uidt"))
    saved = state.load() or {"offset": 0}
    ...
    state.save({"offset": offset})

``save`` writes a temporary file in the same directory, flushes and fsyncs it, renames it over
the old one and fsyncs the directory, so a reader sees either the old state or the new one,
never a torn mix. ``save(state, sync=False)`` skips the two fsyncs: the rename is still atomic
for every process of this boot, which is all a state that names this boot (:func:`boot_id`)
relies on. ``load`` treats an unreadable or corrupt file as "no checkpoint" (with a logged
warning) rather than failing the job.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from uidt.transfers.safefile import untrusted_reason

_log = logging.getLogger(__name__)

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str | None:
    """The id of the running boot (Linux), or ``None`` where the system offers none.

    Bytes a process wrote to a file stay readable by every later process of the same boot,
    whether or not they have reached the disk yet; only a crash or power cut of the machine
    loses them, and that starts a new boot.
    """
    try:
        return _BOOT_ID.read_text().strip() or None
    except OSError:
        return None


class UntrustedCheckpoint(Exception):
    """A checkpoint that is not surely the user's (raised by ``load(owner_only=True)``)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} {reason}")
        self.path = path
        self.reason = reason


def _why_not_opened(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "is a symbolic link"
    try:
        return untrusted_reason(os.lstat(path)) or f"cannot be read ({exc.strerror})"
    except OSError:
        return f"cannot be read ({exc.strerror})"


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def fsync_directory(directory: Path) -> None:
    """Make a rename or create inside ``directory`` durable (best effort on odd filesystems)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # pragma: no cover - e.g. a filesystem that refuses to open directories
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


class Checkpoint:
    """A JSON object persisted atomically at ``path``.

    Args:
        path: Where the state lives, usually ``<file>.uidt`` next to the file it describes.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Checkpoint({str(self.path)!r})"

    def save(self, state: dict[str, Any], *, sync: bool = True) -> None:
        """Replace the stored state with ``state`` atomically (and durably, with ``sync``).

        Args:
            state: A JSON-serialisable mapping.
            sync: fsync the new file and its directory, so the state survives a crash of the
                machine; without it, it survives the end of any process.

        Raises:
            OSError: The directory cannot be written (``ENOSPC`` included).
            TypeError: ``state`` is not JSON-serialisable.
        """
        data = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
        # A fresh name, created with O_EXCL and mode 0600: a file or link someone planted
        # under a guessable temporary name is never written through.
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        tmp = Path(tmp_name)
        try:
            with open(fd, "wb") as handle:
                handle.write(data)
                if sync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, self.path)  # replaces a link at ``path`` itself, never its target
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        if sync:
            fsync_directory(self.path.parent)

    def load(self, *, owner_only: bool = False) -> dict[str, Any] | None:
        """The stored state, or ``None`` if there is none or it cannot be read.

        Never reads through a symbolic link (one is treated as no checkpoint).

        Args:
            owner_only: Refuse a checkpoint that is not surely this user's (another owner,
                writable by group or others, several links): see
                :func:`uidt.transfers.safefile.untrusted_reason`.

        Raises:
            UntrustedCheckpoint: ``owner_only`` and the file does not qualify.
        """
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if owner_only:
                raise UntrustedCheckpoint(self.path, _why_not_opened(self.path, exc)) from None
            _log.warning("checkpoint %s is unreadable (%s); starting without it", self.path, exc)
            return None
        try:
            st = os.fstat(fd)
            reason = untrusted_reason(st) if owner_only else None
            if reason is not None:
                raise UntrustedCheckpoint(self.path, reason)
            if not stat.S_ISREG(st.st_mode):
                _log.warning("checkpoint %s is not a regular file; starting without it", self.path)
                return None
            raw = _read_all(fd)
        except OSError as exc:
            _log.warning("checkpoint %s is unreadable (%s); starting without it", self.path, exc)
            return None
        finally:
            os.close(fd)
        try:
            state = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            _log.warning("checkpoint %s is corrupt; starting without it", self.path)
            return None
        if not isinstance(state, dict):
            _log.warning("checkpoint %s does not hold an object; starting without it", self.path)
            return None
        return state

    def remove(self) -> None:
        """Delete the stored state (missing is fine)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        fsync_directory(self.path.parent)
