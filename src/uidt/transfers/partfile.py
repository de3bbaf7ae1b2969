"""The partial file of a download and its checkpoint: write, make durable, resume, publish.

``<dest>.part`` holds the bytes received so far; ``<dest>.uidt`` (a :class:`Checkpoint`) holds
the URL, the validators (ETag, Last-Modified), the expected total and two offsets, each with the
SHA-256 of its prefix: the *recorded* offset (bytes written to the part file) with the id of the
boot that wrote them, and the *durable* offset (bytes fsynced, part file first and checkpoint
second, so it never runs ahead of the disk). :meth:`PartFile.resume` trusts the recorded prefix
when it runs in the same boot (a killed process loses nothing it wrote: the kernel still holds
those bytes), and with it the *tail* past it, the bytes the killed writer appended after its
last checkpoint, when that tail is surely the writer's (the same file, no longer than the
total, no hole: :mod:`uidt.transfers.parttail`), so a kill in the same boot costs no byte
written. After a reboot it trusts only the durable prefix (a crash or power cut may have lost
what was not fsynced); :meth:`PartFile.open` truncates whatever came after what is trusted.
Where the system has no boot id, every checkpoint is durable and no tail is kept, as a recorded
one could not be told apart after a crash. Those rules, and the pace of the commits, are
:class:`~uidt.transfers.ledger.CommitLedger`'s (a durable commit every 2 MiB, at most four a
second, and at least every ``checkpoint_seconds``); the validators and total are a
:class:`~uidt.transfers.remoteversion.RemoteVersion`.

The file's life is here: the lock, :meth:`PartFile.resume`, :meth:`PartFile.open`,
:meth:`PartFile.close` and :meth:`PartFile.publish`. Writing it while it is open (batches on
an I/O thread, checkpoints queued behind the writes, the back-pressure) is
:class:`~uidt.transfers.partwriter.PartWriter`'s, on the I/O thread of
:class:`~uidt.transfers.partio.PartIO`: the event loop never touches the disk, nor *waits* for
it (:meth:`PartFile.open` queues its durable checkpoint instead of waiting for it; a coroutine
uses :meth:`PartFile.sync`, :meth:`PartFile.aclose`, :meth:`PartFile.recorded_at` and
:meth:`PartFile.publish`, which await the I/O thread; the rename and folder fsync of
``publish`` run in a worker thread). The blocking :meth:`PartFile.commit`,
:meth:`PartFile.close` and :meth:`PartFile.wait_recorded` are for callers on a thread of their
own (the splice copy).

Hashing: ``hashlib`` state cannot be saved, so the checkpoint stores the hex digest of each
prefix it names. When hashing, a resume re-hashes the trusted prefix from disk (about
0.5 s/GiB, in a thread), compares it with the stored digest and starts from zero if they differ;
a kept tail has no stored digest, so it is hashed on after the check (the final SHA-256
then covers it like every other byte).

Other users: the part file is opened, locked for the whole run and published through
:class:`~uidt.transfers.safefile.PartLock` (no links followed, only the user's own files
resumed, one writer); the checkpoint is read with ``owner_only`` and holds the URL without
its password.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from uidt.clock import Clock
from uidt.errors import IntegrityError
from uidt.redact import redact
from uidt.transfers.checkpoint import Checkpoint, UntrustedCheckpoint, fsync_directory
from uidt.transfers.diskio import hash_more, hash_prefix
from uidt.transfers.notices import Notice
from uidt.transfers.partio import BATCH_BYTES
from uidt.transfers.parttail import file_identity, trusted_end
from uidt.transfers.partwriter import STATE_VERSION, PartWriter
from uidt.transfers.remoteversion import RemoteVersion
from uidt.transfers.safefile import PartLock, current_umask, mode_for_umask, remove_untrusted
from uidt.transfers.segments import SEGMENTS_KIND, Segment, load_segments

PART_SUFFIX = ".part"
CHECKPOINT_SUFFIX = ".uidt"
_READABLE_VERSIONS = (1, STATE_VERSION)


def part_path(dest: Path) -> Path:
    """Where the partial data of ``dest`` lives."""
    return dest.with_name(dest.name + PART_SUFFIX)


def checkpoint_path(dest: Path) -> Path:
    """Where the checkpoint of ``dest`` lives."""
    return dest.with_name(dest.name + CHECKPOINT_SUFFIX)


def separate_descriptors() -> bool:
    """Whether :meth:`PartFile.segment_fd` can open the part file again (``/proc/self/fd``,
    Linux): without it a download takes one connection, whatever ``split`` says."""
    return os.path.isdir("/proc/self/fd")


class PartFile(PartWriter):
    """``<dest>.part`` plus ``<dest>.uidt`` for one download of ``url``.

    Args:
        dest: The final path.
        url: The URL being downloaded (a checkpoint for another URL is ignored).
        hashing: Keep a running SHA-256 of the bytes (needed to verify at the end).
        clock: Time of the last commit, for time-based checkpoints.
        batch_bytes: Bytes collected before they are handed to the I/O thread.
        final_mode: The mode of the published file (default: what this process's umask gives
            a new file); the part file stays 0600 until then.
        mirrors: Other URLs of the same file: a checkpoint one of them left is resumed too,
            when it recorded a validator (strong ETag or Last-Modified) this URL's answer must
            then match (:class:`~uidt.transfers.resumecheck.ResumeRequest`).

    Attributes:
        adopted_from: The other URL whose part file :meth:`resume` took (``None``: this one's).
    """

    def __init__(
        self,
        dest: Path,
        url: str,
        *,
        hashing: bool,
        clock: Clock,
        batch_bytes: int = BATCH_BYTES,
        final_mode: int | None = None,
        mirrors: Sequence[str] = (),
    ) -> None:
        path = part_path(dest)
        checkpoint = Checkpoint(checkpoint_path(dest))
        super().__init__(
            path, checkpoint, url, hashing=hashing, clock=clock, batch_bytes=batch_bytes
        )
        self.dest = dest
        self.final_mode = mode_for_umask(current_umask()) if final_mode is None else final_mode
        self._lock = PartLock(self.path, dest)
        self._lock_per_open = False  # taken by open() (not lock()): close() releases it
        #: The byte ranges of a segmented download (``None``: one connection, :attr:`written`).
        self.segments: list[Segment] | None = None
        self.mirrors = tuple(mirrors)
        self.adopted_from: str | None = None

    def _recorded_by(self, state: dict[str, Any] | None) -> str | None:
        """The URL (this one or a mirror) whose checkpoint ``state`` is, ``None``: neither."""
        recorded = None if state is None else state.get("url")
        for url in (self.url, *self.mirrors):
            if recorded in (redact(url), url):
                return url
        return None

    async def resume(self) -> Notice | None:
        """Adopt the checkpointed position, if it is usable.

        Returns:
            ``RESUMED``, ``RESTARTED_BAD_CHECKPOINT`` (a checkpoint for this URL that does not
            match the part file), ``RESTARTED_OTHER_SOURCE`` (a mirror's, with no validator to
            compare), or ``None`` (nothing to resume).
        """
        self.lock()
        if self._lock.replaced is not None:
            self.checkpoint.remove()  # it described the removed part file
            return Notice.RESTARTED_UNTRUSTED_FILES
        try:
            state = self.checkpoint.load(owner_only=True)
        except UntrustedCheckpoint as untrusted:
            remove_untrusted(self.checkpoint.path, untrusted.reason)
            return Notice.RESTARTED_UNTRUSTED_FILES
        recorded = self._recorded_by(state)
        if state is None or recorded is None:
            return None
        if state.get("kind") == SEGMENTS_KIND:
            return self._resume_segments(state)
        # After a reboot only the fsynced prefix is sure to be on disk.
        offset, stored = self.ledger.trusted(state)
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = -1
        usable = (
            state.get("version") in _READABLE_VERSIONS
            and state.get("kind") == "download"
            and RemoteVersion.readable(state)
            and isinstance(offset, int)
            and 0 <= offset <= size
        )
        if not usable or not isinstance(offset, int):
            return Notice.RESTARTED_BAD_CHECKPOINT
        if recorded != self.url and not _vouched(state.get("etag"), state.get("last_modified")):
            return Notice.RESTARTED_OTHER_SOURCE  # a mirror's bytes this URL could not confirm
        end = self._trusted_end(state, offset)
        if end == 0:
            return None
        if self.hashing:
            digest = await asyncio.to_thread(hash_prefix, self.path, offset)
            if stored is not None and digest.hexdigest() != stored:
                return Notice.RESTARTED_BAD_CHECKPOINT
            if end > offset:  # the tail has no stored digest: it was not hashed before the kill
                await asyncio.to_thread(hash_more, self.path, digest, offset, end)
            self.hasher = digest
        self.version.load(state)
        self.adopted_from = None if recorded == self.url else recorded
        self.written = end
        self.ledger.resumed(end)  # durable again once open() commits
        return Notice.RESUMED

    def _resume_segments(self, state: dict[str, Any]) -> Notice:
        """Adopt a segmented checkpoint's ranges (every one of them was fsynced before it)."""
        fd = self._lock.fd
        assert fd is not None
        segments = load_segments(state, os.fstat(fd).st_size)
        if (
            segments is None
            or state.get("version") != STATE_VERSION
            or not RemoteVersion.readable(state)
        ):
            return Notice.RESTARTED_BAD_CHECKPOINT
        self.version.load(state)
        self.segments = segments
        return Notice.RESUMED

    # -- a segmented download (uidt.transfers.segmented) ------------------------------------
    def begin_segments(self, segments: list[Segment], *, keep: int = 0) -> None:
        """Start a segmented download: the part file becomes ``total`` bytes, unfetched past
        ``keep`` (``--split auto``'s first bytes, :mod:`uidt.transfers.autoswitch`).

        Other bytes an earlier run left are dropped (truncated to ``keep`` first): only the
        ranges' ``done`` parts are ever data.
        """
        self.lock()
        assert self._lock.fd is not None
        assert self.total is not None
        if self.fence is not None:
            self.fence.check()  # truncating is writing too
        os.ftruncate(self._lock.fd, keep)
        os.ftruncate(self._lock.fd, self.total)
        self.written = 0
        self.hasher = None
        self.segments = segments

    def segment_fd(self) -> int:
        """A new descriptor of the locked part file with a file position of its own.

        Opened through ``/proc/self/fd`` (the same inode as the lock, never the name again);
        the caller closes it. Closing it keeps the lock, which belongs to the lock's own open.
        """
        assert self._lock.fd is not None
        return os.open(f"/proc/self/fd/{self._lock.fd}", os.O_WRONLY | os.O_CLOEXEC)

    def save_segments(self, ranges: list[list[int]]) -> None:
        """fdatasync the part file, then save a checkpoint naming ``ranges`` durably (blocking:
        a thread)."""
        assert self._lock.fd is not None
        if self.fence is not None:
            self.fence.check()  # a checkpoint is shared state: never one after a takeover
        os.fdatasync(self._lock.fd)
        state = {
            "version": STATE_VERSION,
            "kind": SEGMENTS_KIND,
            "url": redact(self.url),  # never a password on disk beside the file
            **self.version.state(),
            "segments": ranges,
        }
        self.checkpoint.save(state, sync=True)

    def finish_segments(self) -> None:
        """Every range is complete: the part file is the whole file, ready for :meth:`publish`
        (which hashes it from disk when a SHA-256 is expected)."""
        assert self.segments is not None
        assert all(s.complete for s in self.segments)
        assert self.total is not None
        self.written = self.total
        self.hasher = None
        self.segments = None

    def _trusted_end(self, state: dict[str, Any], offset: int) -> int:
        """Where the bytes to keep end: past ``offset`` only for a tail of this boot and file."""
        fd = self._lock.fd
        assert fd is not None
        if not self.ledger.same_boot(state) or state.get("part_file") != file_identity(
            os.fstat(fd)
        ):
            return offset
        total = state.get("total")
        return trusted_end(fd, recorded=offset, total=total if isinstance(total, int) else None)

    async def areset(self) -> None:
        """:meth:`reset` for a coroutine: the I/O thread's last writes are awaited."""
        await self.aclose(commit=False)
        self.reset()

    def reset(self) -> None:
        """Forget everything received: the next :meth:`open` starts from zero."""
        self.close(commit=False)
        self.written = 0
        self.segments = None
        self.ledger.reset()
        self.hasher = None
        self.version.forget()
        self.adopted_from = None

    def lock(self) -> None:
        """Open the part file safely and lock it until :meth:`publish` or :meth:`release`.

        :meth:`resume` and :meth:`open` take the lock when it is not held yet.

        Raises:
            DestinationBusyError: Another process is writing the same destination.
            UnsafeFileError: A file there is not the user's and cannot be removed.
        """
        self._lock.acquire()

    def release(self) -> None:
        """Close the part file (without committing) and drop the lock."""
        self.close(commit=False)
        if self._lock.release():  # an empty part file this run created: nothing to resume
            self.checkpoint.remove()
        self._lock_per_open = False

    def open(self) -> None:
        """Open for appending at :attr:`written` (truncating later bytes) and commit.

        The file is the locked one (:meth:`lock`): never opened again by name, so it cannot be
        swapped for a link in between; truncating it is this writer's own restart.
        """
        if not self._lock.held:
            self.lock()
            self._lock_per_open = True
        if self.fence is not None:
            self.fence.check()  # truncating is writing too
        assert self._lock.fd is not None
        fd = os.dup(self._lock.fd)
        try:
            os.ftruncate(fd, self.written)
            os.lseek(fd, self.written, os.SEEK_SET)
        except BaseException:
            os.close(fd)
            raise
        self._start_writing(fd)

    async def aclose(self, *, commit: bool) -> None:
        """:meth:`close` for a coroutine: waits for the I/O thread without blocking the loop."""
        if self._fd is None:
            return
        try:
            if commit:
                await self.sync()
            else:
                self._flush_batch()
                await self._settled()
            await asyncio.to_thread(self._stop_follower)  # it may still be hashing
        finally:
            self.close(commit=False)  # all written by now: closes without waiting

    def close(self, *, commit: bool) -> None:
        """Write out the queue and close the part file, committing first if asked.

        A no-op when not open. With ``commit``, an earlier failure of the I/O thread is raised.
        """
        if self._fd is None:
            return
        try:
            if commit:
                self.commit()
            else:
                self._flush_batch()
                self._drain()
            self._stop_follower()
        finally:
            self._stop_writing()
            if self._lock_per_open:
                self._lock.release()
                self._lock_per_open = False

    async def publish(self, expected_sha256: str | None) -> str | None:
        """Verify and rename the complete part file to ``dest``; drop the checkpoint.

        Returns:
            The SHA-256 (hex) when one was expected, else ``None``.

        Raises:
            IntegrityError: The digest differs; the part file and checkpoint are deleted.
            UnsafeFileError: The part file's name no longer leads to the file written.
        """
        self._lock_per_open = False  # the lock is kept until the rename, then dropped
        await self.aclose(commit=True)
        digest: str | None = None
        if expected_sha256 is not None:
            hasher = self.hasher or await asyncio.to_thread(hash_prefix, self.path, self.written)
            digest = hasher.hexdigest()
            if digest != expected_sha256:
                if self.fence is not None:
                    self.fence.check()  # the files may be another host's by now
                await asyncio.to_thread(self._discard)
                raise IntegrityError(
                    f"{self.dest}: SHA-256 is {digest}, expected {expected_sha256}; "
                    "the partial file was deleted"
                )
        await asyncio.to_thread(self._rename_into_place)
        return digest

    def _discard(self) -> None:
        """Delete the part file and its checkpoint, drop the lock (a thread: it fsyncs)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.checkpoint.remove()
        self._lock.release()

    def _rename_into_place(self) -> None:
        """Rename the part file to ``dest`` and fsync the folder (a thread: it fsyncs)."""
        self.lock()  # held since resume() or open(); taken again only by a bare publish()
        if self.fence is not None:
            self.fence.check()  # a run another host took over never publishes
        self._lock.publish(self.final_mode)  # checks, chmods, renames and unlocks
        fsync_directory(self.dest.parent)
        self.checkpoint.remove()
        if self.fence is not None:
            self.fence.remove()


def _vouched(etag: object, last_modified: object) -> bool:
    """Whether a recorded strong ETag or Last-Modified can tie the bytes to a version."""
    strong = isinstance(etag, str) and not etag.startswith("W/")
    return strong or isinstance(last_modified, str)
