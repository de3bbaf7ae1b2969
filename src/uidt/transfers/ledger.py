"""What a part file's checkpoints have promised, and when the next is due: :class:`CommitLedger`.

A download's checkpoint names two prefixes of the part file. The *recorded* one is every byte
written before the checkpoint was saved (a rename, no fsync): a killed process keeps all of it,
because the kernel still holds those bytes whether or not they reached the disk, but a crash or
power cut may lose any of it. The *durable* one was ``fdatasync``-ed before a checkpoint naming
it was saved with fsyncs: a crash keeps it too. Each checkpoint carries the id of the boot
(:func:`~uidt.transfers.checkpoint.boot_id`) that wrote it, so a later run can tell which of the
two it may trust (:meth:`CommitLedger.trusted`). Where the system has no boot id, a recorded
checkpoint could not be told apart after a crash, so every commit is made durable
(:meth:`CommitLedger.start`).

The ledger is also the pace of the commits: one is due after half an interval of bytes or a
given time since the last (:meth:`CommitLedger.commit_due`), and a durable one after a given
time since the last durable one or after :data:`DURABLE_BYTES`, but then no sooner than
:data:`DURABLE_LEAST_MS` after it (:meth:`CommitLedger.sync_due`): a crash costs a short
stretch in bytes at a high rate and in time at a low one, with at most 4 fsyncs a second.
It holds offsets and times only; the writes, fsyncs and saves are
:class:`~uidt.transfers.partwriter.PartWriter`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from uidt.clock import Clock
from uidt.transfers.checkpoint import boot_id

#: Bytes after which a durable commit is due (when ``DURABLE_LEAST_MS`` have passed too).
DURABLE_BYTES = 2 * 1024 * 1024
#: The least time between two durable commits that are due by bytes: at most 4 a second.
DURABLE_LEAST_MS = 250


class _Boot(Enum):
    RUNNING = "the running boot's id"


class CommitLedger:
    """The offsets a part file's checkpoints name, and the times of the last commits.

    ``recorded`` and ``durable`` are set by the I/O thread as checkpoints are saved, and read
    by the writer's thread (a stale read only makes a caller wait for a commit that is done).

    Args:
        clock: Where the commit times come from.
        boot: The id checkpoints are saved with and trusted in (default: the running boot's;
            ``None``: no boot id, every commit durable).

    Attributes:
        recorded: Bytes named by the last saved checkpoint (a killed process keeps them).
        durable: Bytes fsynced and named by the last saved checkpoint (a crash keeps them).
        committing: The offset of the last commit started.
        boot_id: See ``boot``.
    """

    def __init__(self, clock: Clock, *, boot: str | _Boot | None = _Boot.RUNNING) -> None:
        self.clock = clock
        self.boot_id = boot_id() if boot is _Boot.RUNNING else boot
        self.recorded = 0
        self.durable = 0
        self.committing = 0
        self._durable_digest: str | None = None
        self._last_commit_ms = 0
        self._last_sync_ms = 0
        self._sync_offset = 0  # the offset of the last durable commit started

    def commit_due(self, written: int, every_bytes: int, every_ms: int) -> bool:
        """Whether a commit should start: half an interval of bytes, or the time, has passed.

        Commits run behind the download, so starting one every half interval (with the writer's
        back-pressure as the brake) keeps the bytes at risk under ``every_bytes``.
        """
        return (
            written - self.committing >= max(1, every_bytes // 2)
            or self.clock.elapsed() - self._last_commit_ms >= every_ms
        )

    def sync_due(
        self,
        written: int,
        every_ms: int,
        *,
        every_bytes: int = DURABLE_BYTES,
        least_ms: int = DURABLE_LEAST_MS,
    ) -> bool:
        """Whether the next commit should be durable.

        Due ``every_ms`` after the last durable commit started, or once ``every_bytes`` have
        been written since it, but then never sooner than ``least_ms`` after it: what a crash
        can cost stays a short stretch (in bytes at a high rate, in time at a low one) while
        the fsyncs stay few however fast the bytes come.
        """
        since = self.clock.elapsed() - self._last_sync_ms
        if since >= every_ms:
            return True
        return written - self._sync_offset >= every_bytes and since >= least_ms

    def start(self, offset: int, *, durable: bool) -> bool:
        """Note a commit of the first ``offset`` bytes started now.

        Returns:
            Whether it is to be durable: as asked, and always where there is no boot id.
        """
        self.committing = offset
        self._last_commit_ms = self.clock.elapsed()
        durable = durable or self.boot_id is None
        if durable:
            self._last_sync_ms, self._sync_offset = self._last_commit_ms, offset
        return durable

    def synced(self, offset: int, digest: str | None) -> None:
        """The first ``offset`` bytes (SHA-256 ``digest``) are fsynced; a checkpoint follows."""
        self.durable, self._durable_digest = offset, digest

    def saved(self, offset: int) -> None:
        """A checkpoint naming the first ``offset`` bytes is saved."""
        self.recorded = offset

    def state(self) -> dict[str, Any]:
        """The ledger's fields of a checkpoint: its boot and its durable prefix."""
        return {
            "boot_id": self.boot_id,
            "durable_offset": self.durable,
            "sha256_durable": self._durable_digest,
        }

    def trusted(self, state: Mapping[str, Any]) -> tuple[Any, Any]:
        """The prefix of a loaded checkpoint this boot may trust: ``(offset, sha256)``.

        The recorded prefix when the checkpoint names no boot (version 1, or a system without
        boot ids: all its checkpoints are durable) or this one (the writer was killed, the
        machine kept running); else only the durable prefix (the machine restarted since).
        The values are as found: the caller checks them.
        """
        written_in = state.get("boot_id")
        if written_in is not None and written_in != self.boot_id:
            return state.get("durable_offset"), state.get("sha256_durable")
        return state.get("offset"), state.get("sha256_prefix")

    def same_boot(self, state: Mapping[str, Any]) -> bool:
        """Whether a loaded checkpoint was saved in the running boot (both have an id).

        Only then may bytes past its recorded offset be kept (:mod:`uidt.transfers.parttail`):
        a checkpoint without a boot id could not be told from one written before a crash.
        """
        written_in = state.get("boot_id")
        return written_in is not None and self.boot_id is not None and written_in == self.boot_id

    def resumed(self, offset: int) -> None:
        """Resume at ``offset``: trusted as recorded, durable again only after the next sync."""
        self.recorded = self.committing = self._sync_offset = offset
        self.durable = 0

    def reset(self) -> None:
        """Start again from zero: nothing is recorded or durable."""
        self.recorded = self.durable = self.committing = self._sync_offset = 0
        self._durable_digest = None
