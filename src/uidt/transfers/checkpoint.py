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
import json
import logging
import os
from pathlib import Path
from typing import Any

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
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                if sync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        if sync:
            fsync_directory(self.path.parent)

    def load(self) -> dict[str, Any] | None:
        """The stored state, or ``None`` if there is none or it cannot be read."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            _log.warning("checkpoint %s is unreadable (%s); starting without it", self.path, exc)
            return None
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
