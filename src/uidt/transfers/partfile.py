"""The partial file of a download and its checkpoint: write, make durable, resume, publish.

``<dest>.part`` holds the bytes received so far; ``<dest>.uidt`` (a :class:`Checkpoint`) holds
the URL, the validators (ETag, Last-Modified), the expected total and two offsets, each with the
SHA-256 of its prefix: the *recorded* offset (bytes written to the part file) with the id of the
boot that wrote them, and the *durable* offset (bytes fsynced, part file first and checkpoint
second, so it never runs ahead of the disk). :meth:`PartFile.resume` trusts the recorded prefix
when it runs in the same boot (a killed process loses nothing it wrote: the kernel still holds
those bytes) and only the durable prefix after a reboot (a crash or power cut may have lost what
was not fsynced); :meth:`PartFile.open` truncates whatever came after it. Where the system has
no boot id, every checkpoint is durable, as a recorded one could not be told apart after a crash.

Speed: the event loop never touches the disk. :meth:`PartFile.write` only collects chunks; full
batches (``batch_bytes``, 8 MiB) go to one I/O thread, which appends them with ``os.writev``
(no copy), asks the kernel to start writing them back (``sync_file_range``, where available, so
the disk works while the network does) and keeps the running SHA-256. :meth:`PartFile.start_commit`
queues a checkpoint behind those writes on the same thread (FIFO, so a checkpoint never names
bytes that are not in the file), with an ``fdatasync`` first when it is to be durable, and
returns at once; the download keeps receiving. Recorded checkpoints cost a small file and a
rename, so the disk is not made to flush every interval: it writes back at its own pace, and
the ``fdatasync`` before :meth:`PartFile.publish` waits only for what it has not written yet.
:meth:`PartFile.wait_recorded` is the back-pressure that keeps the promise to a killed process:
the engine never holds more than one checkpoint interval of received bytes that no checkpoint
names.

Nor does the loop *wait* for the disk: :meth:`PartFile.open` queues its durable checkpoint
instead of waiting for it; a coroutine uses :meth:`PartFile.sync`, :meth:`PartFile.aclose`,
:meth:`PartFile.recorded_at` and :meth:`PartFile.publish`, which await the I/O thread (the
rename and folder fsync of ``publish`` run in a worker thread). The blocking :meth:`commit`,
:meth:`close` and :meth:`wait_recorded` are for callers on a thread of their own (the splice copy).

Hashing: ``hashlib`` state cannot be saved, so the checkpoint stores the hex digest of each
prefix it names. When hashing, a resume re-hashes the trusted prefix from disk (about
0.5 s/GiB, in a thread), compares it with the stored digest and starts from zero if they differ.

Other users: the part file is opened, locked for the whole run and published through
:class:`~uidt.transfers.safefile.PartLock` (no links followed, only the user's own files
resumed, one writer); the checkpoint is read with ``owner_only`` and holds the URL without
its password.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import os
from collections import deque
from pathlib import Path
from typing import Any

from uidt.clock import Clock
from uidt.errors import IntegrityError
from uidt.redact import redact
from uidt.transfers.checkpoint import Checkpoint, UntrustedCheckpoint, boot_id, fsync_directory
from uidt.transfers.diskio import hash_prefix, start_writeback
from uidt.transfers.hashfollow import HashFollower
from uidt.transfers.notices import Notice
from uidt.transfers.safefile import PartLock, current_umask, mode_for_umask, remove_untrusted

PART_SUFFIX = ".part"
CHECKPOINT_SUFFIX = ".uidt"
#: 2 added the recorded offset and its boot; version 1 checkpoints name only durable bytes.
STATE_VERSION = 2
_READABLE_VERSIONS = (1, 2)
#: Bytes collected before a batch goes to the I/O thread.
BATCH_BYTES = 8 * 1024 * 1024
#: Chunks per batch at most (``writev`` takes at most IOV_MAX = 1024 buffers).
_BATCH_CHUNKS = 512


def part_path(dest: Path) -> Path:
    """Where the partial data of ``dest`` lives."""
    return dest.with_name(dest.name + PART_SUFFIX)


def checkpoint_path(dest: Path) -> Path:
    """Where the checkpoint of ``dest`` lives."""
    return dest.with_name(dest.name + CHECKPOINT_SUFFIX)


class PartFile:
    """``<dest>.part`` plus ``<dest>.uidt`` for one download of ``url``.

    Args:
        dest: The final path.
        url: The URL being downloaded (a checkpoint for another URL is ignored).
        hashing: Keep a running SHA-256 of the bytes (needed to verify at the end).
        clock: Time of the last commit, for time-based checkpoints.
        batch_bytes: Bytes collected before they are handed to the I/O thread.
        final_mode: The mode of the published file (default: what this process's umask gives
            a new file); the part file stays 0600 until then.
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
    ) -> None:
        self.dest = dest
        self.path = part_path(dest)
        self.final_mode = mode_for_umask(current_umask()) if final_mode is None else final_mode
        self._lock = PartLock(self.path, dest)
        self._lock_per_open = False  # taken by open() (not lock()): close() releases it
        self.checkpoint = Checkpoint(checkpoint_path(dest))
        self.url = url
        self.hashing = hashing
        self.clock = clock
        self.batch_bytes = batch_bytes
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.total: int | None = None
        self.written = 0  # bytes accepted by write() (some may still be queued for the thread)
        self.recorded = 0  # bytes named by the saved checkpoint (a killed process keeps them)
        self.durable = 0  # bytes fsynced and named by the saved checkpoint (a crash keeps them)
        self.committing = 0  # offset of the last commit started
        self.hasher: Any = None  # covers [0, bytes on disk) when hashing; used by the thread
        self.last_commit_ms = 0
        self.last_sync_ms = 0
        #: This boot's id: recorded checkpoints are trusted only in it (``None``: all durable).
        self.boot_id = boot_id()
        self._durable_digest: str | None = None
        self._fd: int | None = None
        self._io: concurrent.futures.ThreadPoolExecutor | None = None
        self._batch: list[bytes] = []
        self._batch_size = 0
        self._queued: deque[concurrent.futures.Future[None]] = deque()
        self._commits: deque[tuple[int, concurrent.futures.Future[None]]] = deque()
        self._error: BaseException | None = None
        self._direct = False  # bytes arrive through appended(), not write()
        self._writeback_from = 0
        self._follower: HashFollower | None = None  # hashes appended() bytes, when hashing

    def state(self, offset: int, digest: str | None) -> dict[str, Any]:
        """The checkpoint contents naming ``offset`` bytes (``digest``: their SHA-256)."""
        return {
            "version": STATE_VERSION,
            "kind": "download",
            "url": redact(self.url),  # never a password on disk beside the file
            "etag": self.etag,
            "last_modified": self.last_modified,
            "total": self.total,
            "offset": offset,
            "sha256_prefix": digest,
            "boot_id": self.boot_id,
            "durable_offset": self.durable,
            "sha256_durable": self._durable_digest,
        }

    async def resume(self) -> Notice | None:
        """Adopt the checkpointed position, if it is usable.

        Returns:
            ``RESUMED``, ``RESTARTED_BAD_CHECKPOINT`` (a checkpoint for this URL that does not
            match the part file), or ``None`` (nothing to resume).
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
        if state is None or state.get("url") not in (redact(self.url), self.url):
            return None
        offset, stored = state.get("offset"), state.get("sha256_prefix")
        written_in = state.get("boot_id")
        if written_in is not None and written_in != self.boot_id:
            # Written before a reboot: only the fsynced prefix is sure to be on disk.
            offset, stored = state.get("durable_offset"), state.get("sha256_durable")
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = -1
        usable = (
            state.get("version") in _READABLE_VERSIONS
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
            if stored is not None and digest.hexdigest() != stored:
                return Notice.RESTARTED_BAD_CHECKPOINT
            self.hasher = digest
        self.etag = state.get("etag")
        self.last_modified = state.get("last_modified")
        total = state.get("total")
        self.total = total if isinstance(total, int) else None
        self.written = self.recorded = self.committing = offset
        self.durable = 0  # until open() commits
        return Notice.RESUMED

    async def areset(self) -> None:
        """:meth:`reset` for a coroutine: the I/O thread's last writes are awaited."""
        await self.aclose(commit=False)
        self.reset()

    def reset(self) -> None:
        """Forget everything received: the next :meth:`open` starts from zero."""
        self.close(commit=False)
        self.written = self.recorded = self.durable = self.committing = 0
        self.hasher = None
        self.etag = self.last_modified = None
        self.total = None

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
        assert self._lock.fd is not None
        self._fd = os.dup(self._lock.fd)
        os.ftruncate(self._fd, self.written)
        os.lseek(self._fd, self.written, os.SEEK_SET)
        if self.written == 0:
            self.hasher = hashlib.sha256() if self.hashing else None
        self._error = None
        self._direct = False
        self._writeback_from = self.written
        self._io = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="uidt-partfile")
        # Queued, not waited for: the I/O thread saves it before any byte that follows.
        self.start_commit(durable=True)

    def fileno(self) -> int:
        """The open part file, positioned at :attr:`written`, for :meth:`appended` writers."""
        assert self._fd is not None
        return self._fd

    def appended(self, count: int) -> None:
        """Account for ``count`` bytes the caller wrote straight to :meth:`fileno`.

        The direct way in, for a body copied by the kernel (``splice``) in a thread: no
        batching, no copy. When hashing, a :class:`HashFollower` reads the bytes back from
        the page cache and hashes them in a thread of its own, alongside the copy. Use either
        this or :meth:`write` between :meth:`open` and :meth:`close`, from one thread at a
        time; :meth:`start_commit` and :meth:`wait_durable` may then be called from that thread.

        Raises:
            OSError: A commit failed in the I/O thread.
        """
        assert self._fd is not None
        self._direct = True
        if self.hasher is not None and self._follower is None:
            self._follower = HashFollower(self.path, self.hasher, self.written)
        self.written += count
        if self._follower is not None:
            self._follower.feed(self.written)
        if start_writeback is not None and self.written - self._writeback_from >= self.batch_bytes:
            # On the I/O thread: submitting the writeback is kernel work the copy need not wait for.
            assert self._io is not None
            start, length = self._writeback_from, self.written - self._writeback_from
            self._queued.append(self._io.submit(start_writeback, self._fd, start, length))
            self._writeback_from = self.written
        self._raise_failure()

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` (queued for the I/O thread; not yet durable).

        Raises:
            OSError: An earlier write or commit failed in the I/O thread (e.g. ``ENOSPC``).
        """
        assert self._fd is not None
        self._raise_failure()
        self._batch.append(chunk)
        self._batch_size += len(chunk)
        self.written += len(chunk)
        if self._batch_size >= self.batch_bytes or len(self._batch) >= _BATCH_CHUNKS:
            self._flush_batch()

    def commit_due(self, every_bytes: int, every_ms: int) -> bool:
        """Whether a commit should start: half an interval of bytes, or the time, has passed.

        Commits run behind the download, so starting one every half interval (with
        :meth:`wait_recorded` as the brake) keeps the bytes at risk under ``every_bytes``.
        """
        return (
            self.written - self.committing >= max(1, every_bytes // 2)
            or self.clock.elapsed() - self.last_commit_ms >= every_ms
        )

    def sync_due(self, every_ms: int) -> bool:
        """Whether ``every_ms`` have passed since the last durable commit.

        (Where there is no boot id, :meth:`start_commit` makes every commit durable anyway.)
        """
        return self.clock.elapsed() - self.last_sync_ms >= every_ms

    def start_commit(self, *, durable: bool = False) -> None:
        """Queue a checkpoint of everything written so far; do not wait.

        With ``durable`` (always, where there is no boot id) the part file is fsynced first
        and the checkpoint saved durably; else it is only recorded (see the module docstring).
        """
        if self._io is None or self._fd is None or self._error is not None:
            return
        self._flush_batch()
        offset = self.written
        self.committing = offset
        self.last_commit_ms = self.clock.elapsed()
        durable = durable or self.boot_id is None
        if durable:
            self.last_sync_ms = self.last_commit_ms
        # Bytes written directly are hashed by the follower, which may lag: it hands over the
        # digest of exactly [0, offset) when it gets there (the I/O thread waits for it).
        digest = self._follower.digest_at(offset) if self._follower is not None else None
        if digest is None and self.hasher is not None and all(f.done() for f in self._queued):
            # Nothing in flight: the hasher covers exactly ``offset`` bytes now, and a hash
            # follower started before the I/O thread gets here must not move it first.
            digest = concurrent.futures.Future()
            digest.set_result(self.hasher.hexdigest())
        future = self._io.submit(self._save_at, self._fd, offset, digest, durable)
        self._queued.append(future)
        self._commits.append((offset, future))

    def wait_recorded(self, offset: int) -> None:
        """Block until a checkpoint names the first ``offset`` bytes (the back-pressure).

        Called only when the checkpoints have fallen a whole interval behind the network; it
        then waits for the commit in flight, no longer. Blocking rather than awaiting also
        stops an in-process server from running ahead of the reader.

        Raises:
            OSError: A write or commit failed in the I/O thread.
        """
        if self.recorded >= offset:
            return
        for future in self._commits_until(offset):
            with contextlib.suppress(BaseException):
                future.result()
        self._raise_failure()

    async def recorded_at(self, offset: int) -> None:
        """:meth:`wait_recorded` for a coroutine: awaits the commit instead of blocking.

        Raises:
            OSError: A write or commit failed in the I/O thread.
        """
        if self.recorded >= offset:
            return
        for future in self._commits_until(offset):
            with contextlib.suppress(BaseException):
                await asyncio.wrap_future(future)
        self._raise_failure()

    def _commits_until(self, offset: int) -> list[concurrent.futures.Future[None]]:
        """The commits in flight up to the first that records ``offset`` (started if none does)."""
        if self.committing < offset:
            self.start_commit()
        until: list[concurrent.futures.Future[None]] = []
        for target, future in list(self._commits):
            until.append(future)
            if target >= offset:
                break
        return until

    def commit(self) -> None:
        """Write out everything, fsync it, then record its length in the checkpoint (blocking).

        Raises:
            OSError: Writing or syncing failed (now or earlier, in the I/O thread).
        """
        if self._fd is None:
            return
        self.start_commit(durable=True)
        self._drain()
        if self._error is not None:
            raise self._error

    async def sync(self) -> None:
        """:meth:`commit` for a coroutine: the fsyncs run on the I/O thread, the loop goes on.

        Raises:
            OSError: Writing or syncing failed (now or earlier, in the I/O thread).
        """
        if self._fd is None:
            return
        self.start_commit(durable=True)
        await self._settled()
        if self._error is not None:
            raise self._error

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

    async def _settled(self) -> None:
        """Wait until the I/O thread has done everything queued (it runs them in order)."""
        if self._queued:
            with contextlib.suppress(BaseException):
                await asyncio.wrap_future(self._queued[-1])

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
            with contextlib.suppress(OSError):
                self._stop_follower()
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
            if self._io is not None:
                self._io.shutdown(wait=True)
                self._io = None
            self._batch, self._batch_size = [], 0
            self._commits.clear()
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
        self._lock.publish(self.final_mode)  # checks, chmods, renames and unlocks
        fsync_directory(self.dest.parent)
        self.checkpoint.remove()

    def _stop_follower(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.close()

    # -- the I/O thread ----------------------------------------------------------------------
    def _flush_batch(self) -> None:
        if not self._batch or self._io is None or self._fd is None:
            return
        batch, start = self._batch, self.written - self._batch_size
        self._batch, self._batch_size = [], 0
        if self._error is None:
            self._queued.append(self._io.submit(self._write_batch, self._fd, batch, start))

    def _write_batch(self, fd: int, batch: list[bytes], start: int) -> None:
        if self._error is not None:
            return
        try:
            size = sum(len(chunk) for chunk in batch)
            done = os.writev(fd, batch)
            if done < size:  # a short write: finish chunk by chunk
                view = memoryview(b"".join(batch))[done:]
                while view:
                    view = view[os.write(fd, view) :]
            if self.hasher is not None:
                for chunk in batch:
                    self.hasher.update(chunk)
            if start_writeback is not None:
                start_writeback(fd, start, size)
        except BaseException as exc:
            self._error = exc
            raise

    def _save_at(
        self,
        fd: int,
        offset: int,
        follower_digest: concurrent.futures.Future[str] | None,
        durable: bool,
    ) -> None:
        if self._error is not None:
            return
        try:
            if follower_digest is not None:
                digest: str | None = follower_digest.result()
            else:  # the writes before this in the queue are exactly the first ``offset`` bytes
                digest = self.hasher.hexdigest() if self.hasher is not None else None
            if durable:
                os.fdatasync(fd)
                self.durable, self._durable_digest = offset, digest
            self.checkpoint.save(self.state(offset, digest), sync=durable)
            self.recorded = offset
        except BaseException as exc:
            self._error = exc
            raise

    def _raise_failure(self) -> None:
        while self._queued and self._queued[0].done():
            self._queued.popleft()
        while self._commits and self._commits[0][1].done():
            self._commits.popleft()
        if self._error is not None:
            raise self._error

    def _drain(self) -> None:
        for future in list(self._queued):
            with contextlib.suppress(BaseException):
                future.result()
        self._queued.clear()
        self._commits.clear()
