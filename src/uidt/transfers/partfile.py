"""The partial file of a download and its checkpoint: write, make durable, resume, publish.

``<dest>.part`` holds the bytes received so far; ``<dest>.uidt`` (a :class:`Checkpoint`) holds
the URL, the validators (ETag, Last-Modified), the expected total, the durable offset and the
SHA-256 of the durable prefix. :meth:`PartFile.commit` fsyncs the part file *first* and saves
the checkpoint *second*, so the checkpointed offset never runs ahead of the bytes on disk.
:meth:`PartFile.resume` trusts only the checkpointed prefix and :meth:`PartFile.open` truncates
whatever came after it.

Hashing: ``hashlib`` state cannot be saved, so the checkpoint stores the hex digest of the
durable prefix. When hashing, a resume re-hashes the prefix from disk (about 0.5 s/GiB, in a
thread), compares it with the stored digest and starts from zero if they differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from pathlib import Path
from typing import IO, Any

from uidt.clock import Clock
from uidt.errors import IntegrityError
from uidt.transfers.checkpoint import Checkpoint, fsync_directory
from uidt.transfers.notices import Notice

PART_SUFFIX = ".part"
CHECKPOINT_SUFFIX = ".uidt"
STATE_VERSION = 1
_HASH_BLOCK = 4 * 1024 * 1024


def part_path(dest: Path) -> Path:
    """Where the partial data of ``dest`` lives."""
    return dest.with_name(dest.name + PART_SUFFIX)


def checkpoint_path(dest: Path) -> Path:
    """Where the checkpoint of ``dest`` lives."""
    return dest.with_name(dest.name + CHECKPOINT_SUFFIX)


def hash_prefix(path: Path, length: int) -> Any:
    """A ``hashlib.sha256`` object fed with the first ``length`` bytes of ``path``."""
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        remaining = length
        while remaining > 0:
            block = handle.read(min(_HASH_BLOCK, remaining))
            if not block:
                break
            hasher.update(block)
            remaining -= len(block)
    return hasher


class PartFile:
    """``<dest>.part`` plus ``<dest>.uidt`` for one download of ``url``.

    Args:
        dest: The final path.
        url: The URL being downloaded (a checkpoint for another URL is ignored).
        hashing: Keep a running SHA-256 of the bytes (needed to verify at the end).
        clock: Time of the last commit, for time-based checkpoints.
    """

    def __init__(self, dest: Path, url: str, *, hashing: bool, clock: Clock) -> None:
        self.dest = dest
        self.path = part_path(dest)
        self.checkpoint = Checkpoint(checkpoint_path(dest))
        self.url = url
        self.hashing = hashing
        self.clock = clock
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.total: int | None = None
        self.written = 0  # bytes written to the part file
        self.durable = 0  # bytes fsynced and recorded in the checkpoint
        self.hasher: Any = None  # covers [0, written) when hashing
        self.last_commit_ms = 0
        self._file: IO[bytes] | None = None

    def state(self) -> dict[str, Any]:
        """The checkpoint contents for the current position."""
        return {
            "version": STATE_VERSION,
            "kind": "download",
            "url": self.url,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "total": self.total,
            "offset": self.written,
            "sha256_prefix": self.hasher.hexdigest() if self.hasher is not None else None,
        }

    async def resume(self) -> Notice | None:
        """Adopt the checkpointed position, if it is usable.

        Returns:
            ``RESUMED``, ``RESTARTED_BAD_CHECKPOINT`` (a checkpoint for this URL that does not
            match the part file), or ``None`` (nothing to resume).
        """
        state = self.checkpoint.load()
        if state is None or state.get("url") != self.url:
            return None
        offset = state.get("offset")
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = -1
        usable = (
            state.get("version") == STATE_VERSION
            and state.get("kind") == "download"
            and isinstance(offset, int)
            and 0 <= offset <= size
        )
        if not usable or not isinstance(offset, int):
            return Notice.RESTARTED_BAD_CHECKPOINT
        if offset == 0:
            return None
        if self.hashing:
            digest = await asyncio.to_thread(hash_prefix, self.path, offset)
            stored = state.get("sha256_prefix")
            if stored is not None and digest.hexdigest() != stored:
                return Notice.RESTARTED_BAD_CHECKPOINT
            self.hasher = digest
        self.etag = state.get("etag")
        self.last_modified = state.get("last_modified")
        total = state.get("total")
        self.total = total if isinstance(total, int) else None
        self.written = self.durable = offset
        return Notice.RESUMED

    def reset(self) -> None:
        """Forget everything received: the next :meth:`open` starts from zero."""
        self.close(commit=False)
        self.written = self.durable = 0
        self.hasher = None
        self.etag = self.last_modified = None
        self.total = None

    def open(self) -> None:
        """Open for appending at :attr:`written` (truncating later bytes) and commit."""
        if self.written == 0:
            self._file = open(self.path, "wb")  # noqa: SIM115 - closed by close()
            self.hasher = hashlib.sha256() if self.hashing else None
        else:
            self._file = open(self.path, "r+b")  # noqa: SIM115 - closed by close()
            self._file.truncate(self.written)
            self._file.seek(self.written)
        self.commit()

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` (not yet durable)."""
        assert self._file is not None
        self._file.write(chunk)
        if self.hasher is not None:
            self.hasher.update(chunk)
        self.written += len(chunk)

    def commit_due(self, every_bytes: int, every_ms: int) -> bool:
        """Whether enough bytes or time have passed since the last commit."""
        return (
            self.written - self.durable >= every_bytes
            or self.clock.elapsed() - self.last_commit_ms >= every_ms
        )

    def commit(self) -> None:
        """fsync the part file, then record its length in the checkpoint."""
        if self._file is None:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self.checkpoint.save(self.state())
        self.durable = self.written
        self.last_commit_ms = self.clock.elapsed()

    def close(self, *, commit: bool) -> None:
        """Close the part file, committing first if asked (a no-op when not open)."""
        if self._file is None:
            return
        try:
            if commit:
                self.commit()
        finally:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    async def publish(self, expected_sha256: str | None) -> str | None:
        """Verify and rename the complete part file to ``dest``; drop the checkpoint.

        Returns:
            The SHA-256 (hex) when one was expected, else ``None``.

        Raises:
            IntegrityError: The digest differs; the part file and checkpoint are deleted.
        """
        self.close(commit=True)
        digest: str | None = None
        if expected_sha256 is not None:
            hasher = self.hasher or await asyncio.to_thread(hash_prefix, self.path, self.written)
            digest = hasher.hexdigest()
            if digest != expected_sha256:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                self.checkpoint.remove()
                raise IntegrityError(
                    f"{self.dest}: SHA-256 is {digest}, expected {expected_sha256}; "
                    "the partial file was deleted"
                )
        os.replace(self.path, self.dest)
        fsync_directory(self.dest.parent)
        self.checkpoint.remove()
        return digest
