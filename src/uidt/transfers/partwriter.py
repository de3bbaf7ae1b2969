"""Writing an open part file and checkpointing it: :class:`PartWriter`.

The writing half of :class:`~uidt.transfers.partfile.PartFile` (which adds the file's life:
the lock, resume, open, publish). Bytes come in one of two ways: :meth:`PartWriter.write`
collects chunks for the I/O thread (:class:`~uidt.transfers.partio.PartIO`), which writes them
in batches; :meth:`PartWriter.appended` accounts for bytes a copying thread wrote straight to
:meth:`PartWriter.fileno` (``splice``), hashed alongside by a
:class:`~uidt.transfers.hashfollow.HashFollower` when hashing. :meth:`PartWriter.start_commit`
queues a checkpoint behind the writes on the I/O thread and returns at once; a durable one is
saved there as recorded first, then its ``fdatasync`` and durable save go on the sync thread, so
neither the copy nor the recorded checkpoints behind it wait for a busy disk; :meth:`PartWriter.wait_recorded` (blocking, for a copying
thread) and :meth:`PartWriter.recorded_at` (awaiting, for a coroutine) are the back-pressure,
:meth:`PartWriter.commit` and :meth:`PartWriter.sync` make everything durable. What the saved
checkpoints promise (the recorded and durable offsets, the boot) and when the next commit is
due is the :class:`~uidt.transfers.ledger.CommitLedger` in :attr:`PartWriter.ledger`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import os
import threading
from pathlib import Path
from typing import Any

from uidt.clock import Clock
from uidt.redact import redact
from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.diskio import start_writeback
from uidt.transfers.fence import Fence
from uidt.transfers.hashfollow import HashFollower
from uidt.transfers.ledger import CommitLedger
from uidt.transfers.partio import PartIO, ran
from uidt.transfers.parttail import file_identity
from uidt.transfers.remoteversion import RemoteVersion

#: 2 added the recorded offset and its boot; version 1 checkpoints name only durable bytes.
STATE_VERSION = 2


class PartWriter:
    """The part file while it is written: the offsets, the hash, the I/O thread, the commits.

    Args:
        path: The part file (read back by the hash follower).
        checkpoint: Where its checkpoints go.
        url: The URL being downloaded (named, without its password, by each checkpoint).
        hashing: Keep a running SHA-256 of the bytes (needed to verify at the end).
        clock: Time of the last commit, for time-based checkpoints.
        batch_bytes: Bytes collected before they are handed to the I/O thread.
    """

    def __init__(
        self,
        path: Path,
        checkpoint: Checkpoint,
        url: str,
        *,
        hashing: bool,
        clock: Clock,
        batch_bytes: int,
    ) -> None:
        self.path = path
        self.checkpoint = checkpoint
        self.url = url
        self.hashing = hashing
        self.batch_bytes = batch_bytes
        #: The validators and length of the server's file these bytes are from.
        self.version = RemoteVersion()
        self.written = 0  # bytes accepted by write() (some may still be queued for the thread)
        self.hasher: Any = None  # covers [0, bytes on disk) when hashing; used by the thread
        #: What the saved checkpoints name, in which boot, and when the next commit is due.
        self.ledger = CommitLedger(clock)
        self._fd: int | None = None
        self._file_id: str | None = None  # the open file's device and inode, named by checkpoints
        self._io: PartIO | None = None  # while open
        self._direct = False  # bytes arrive through appended(), not write()
        self._writeback_from = 0
        self._follower: HashFollower | None = None  # hashes appended() bytes, when hashing
        #: On a shared store: the destination's fence (checked on the write path and before
        #: every checkpoint); ``None`` elsewhere.
        self.fence: Fence | None = None
        self._save_lock = threading.Lock()  # the I/O and sync threads both save checkpoints
        self._last_saved: tuple[int, str | None] | None = None  # this opening's newest save

    def _start_writing(self, fd: int) -> None:
        """Write at :attr:`written` of ``fd`` (a descriptor of the part file, now owned here)."""
        self._fd = fd
        self._file_id = file_identity(os.fstat(fd))
        if self.written == 0:
            self.hasher = hashlib.sha256() if self.hashing else None
        self._direct = False
        self._writeback_from = self.written
        self._io = PartIO(self.batch_bytes)
        self._last_saved = None
        # Queued, not waited for: the I/O thread saves it before any byte that follows.
        self.start_commit(durable=True)

    def _stop_writing(self) -> None:
        """Close the descriptor and stop the I/O thread (after what is queued)."""
        with contextlib.suppress(OSError):
            self._stop_follower()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None
        if self._io is not None:
            self._io.shutdown()
            self._io = None

    def state(self, offset: int, digest: str | None) -> dict[str, Any]:
        """The checkpoint contents naming ``offset`` bytes (``digest``: their SHA-256)."""
        return {
            "version": STATE_VERSION,
            "kind": "download",
            "url": redact(self.url),  # never a password on disk beside the file
            **self.version.state(),
            "offset": offset,
            "sha256_prefix": digest,
            "part_file": self._file_id,  # its tail is kept only for this very file
            **self.ledger.state(),
        }

    @property
    def etag(self) -> str | None:
        """The server's ``ETag`` for the file (``None``: none given)."""
        return self.version.etag

    @etag.setter
    def etag(self, value: str | None) -> None:
        self.version.etag = value

    @property
    def last_modified(self) -> str | None:
        """The server's ``Last-Modified`` for the file (``None``: none given)."""
        return self.version.last_modified

    @last_modified.setter
    def last_modified(self, value: str | None) -> None:
        self.version.last_modified = value

    @property
    def total(self) -> int | None:
        """The file's length as the server announced it (``None``: not known)."""
        return self.version.total

    @total.setter
    def total(self, value: int | None) -> None:
        self.version.total = value

    @property
    def recorded(self) -> int:
        """Bytes named by the saved checkpoint (a killed process keeps them)."""
        return self.ledger.recorded

    @property
    def durable(self) -> int:
        """Bytes fsynced and named by the saved checkpoint (a crash keeps them)."""
        return self.ledger.durable

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
            # On the sync thread: submitting the writeback is kernel work the copy need not wait
            # for, and it blocks while the disk's queue is full: the recorded checkpoints on the
            # I/O thread (which the copy may wait for) must not queue behind it.
            assert self._io is not None
            start, length = self._writeback_from, self.written - self._writeback_from
            self._io.run_beside(start_writeback, self._fd, start, length)
            self._writeback_from = self.written
        self._raise_failure()
        self.check_fence()  # after the accounting: the bytes written are counted first

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` (queued for the I/O thread; not yet durable).

        Raises:
            OSError: An earlier write or commit failed in the I/O thread (e.g. ``ENOSPC``).
            FencedOffError: Another host took the transfer over (its fence is up).
        """
        assert self._fd is not None
        self._raise_failure()
        self.check_fence()
        assert self._io is not None
        full = self._io.add(chunk)
        self.written += len(chunk)
        if full:
            self._flush_batch()

    def check_fence(self) -> None:
        """On the write path: stop if another host took the transfer over (checked at most
        every few milliseconds; see :mod:`uidt.transfers.fence`).

        Raises:
            FencedOffError: The fence names a newer lease, or it is gone.
        """
        if self.fence is not None:
            self.fence.check_due()

    def commit_due(self, every_bytes: int, every_ms: int) -> bool:
        """Whether a commit should start: half an interval of bytes, or the time, has passed.

        Commits run behind the download, so starting one every half interval (with
        :meth:`wait_recorded` as the brake) keeps the bytes at risk under ``every_bytes``.
        """
        return self.ledger.commit_due(self.written, every_bytes, every_ms)

    def sync_due(self, every_ms: int) -> bool:
        """Whether the next commit should be durable: ``every_ms`` have passed since the last
        durable one, or enough bytes came (see :meth:`CommitLedger.sync_due`).

        Never while the last durable commit is still waiting for the disk: the next one then
        starts as soon as it is done, covering everything written meanwhile, rather than
        queueing fsyncs behind a busy disk. (Where there is no boot id, :meth:`start_commit`
        makes every commit durable anyway.)
        """
        if self._io is not None and self._io.syncing():
            return False
        return self.ledger.sync_due(self.written, every_ms)

    def start_commit(self, *, durable: bool = False) -> None:
        """Queue a checkpoint of everything written so far; do not wait.

        With ``durable`` (always, where there is no boot id) the part file is fsynced first
        and the checkpoint saved durably; else it is only recorded (see the module docstring).
        """
        if self._io is None or self._fd is None or self._io.error is not None:
            return
        self._flush_batch()
        offset = self.written
        durable = self.ledger.start(offset, durable=durable)
        # Bytes written directly are hashed by the follower, which may lag: it hands over the
        # digest of exactly [0, offset) when it gets there (the I/O thread waits for it).
        digest = self._follower.digest_at(offset) if self._follower is not None else None
        if digest is None and self.hasher is not None and self._io.idle():
            # Nothing in flight: the hasher covers exactly ``offset`` bytes now, and a hash
            # follower started before the I/O thread gets here must not move it first.
            digest = concurrent.futures.Future()
            digest.set_result(self.hasher.hexdigest())
        self._io.commit(offset, self._save_at, self._fd, offset, digest, durable)

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
            await ran(future)  # a cancel of the download is raised here; the commit runs on
        self._raise_failure()

    def _commits_until(self, offset: int) -> list[concurrent.futures.Future[Any]]:
        """The commits in flight up to the first that records ``offset`` (started if none does)."""
        if self.ledger.committing < offset:
            self.start_commit()
        return self._io.commits_until(offset) if self._io is not None else []

    def commit(self) -> None:
        """Write out everything, fsync it, then record its length in the checkpoint (blocking).

        Raises:
            OSError: Writing or syncing failed (now or earlier, in the I/O thread).
        """
        if self._fd is None:
            return
        self.start_commit(durable=True)
        self._drain()
        self._raise_failure()

    async def sync(self) -> None:
        """:meth:`commit` for a coroutine: the fsyncs run on the I/O thread, the loop goes on.

        Raises:
            OSError: Writing or syncing failed (now or earlier, in the I/O thread).
        """
        if self._fd is None:
            return
        self.start_commit(durable=True)
        await self._settled()
        self._raise_failure()

    async def _settled(self) -> None:
        """Wait until the I/O thread has done everything queued (it runs them in order)."""
        if self._io is not None:
            await self._io.settled()

    def _stop_follower(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.close()

    # -- on the I/O thread ------------------------------------------------------------------
    def _flush_batch(self) -> None:
        if self._io is not None and self._fd is not None:
            self._io.flush(self._fd, self.written, self.hasher)

    def _save_at(
        self,
        fd: int,
        offset: int,
        follower_digest: concurrent.futures.Future[str] | None,
        durable: bool,
    ) -> None:
        if follower_digest is not None:
            digest: str | None = follower_digest.result()
        else:  # the writes before this in the queue are exactly the first ``offset`` bytes
            digest = self.hasher.hexdigest() if self.hasher is not None else None
        if self.fence is not None:
            self.fence.check()  # a checkpoint is shared state: never one after a takeover
        if durable and self.ledger.boot_id is None:
            # Without a boot id a recorded checkpoint could be trusted after a crash: none is
            # saved, the fdatasync stays here, in order.
            self._sync_at(fd, offset, digest)
            return
        self._save(offset, digest, sync=False)
        if durable:
            assert self._io is not None
            self._io.run_sync(self._sync_at, fd, offset, digest)

    def _sync_at(self, fd: int, offset: int, digest: str | None) -> None:
        """Make the first ``offset`` bytes durable, then save a checkpoint naming them so.

        On the sync thread (or the I/O thread, without a boot id): the writes of those bytes
        came before on the I/O thread, which goes on meanwhile.
        """
        os.fdatasync(fd)
        if self.fence is not None:
            self.fence.check()
        self._save(offset, digest, sync=True, synced=True)

    def _save(self, offset: int, digest: str | None, *, sync: bool, synced: bool = False) -> None:
        """Save a checkpoint naming ``offset`` bytes (``synced``: they are fsynced too).

        The I/O and sync threads take turns; a durable save finishing after a newer recorded
        one names the newer offset (those bytes were written before it was saved), so the
        recorded offset never goes back.
        """
        with self._save_lock:
            if synced:
                self.ledger.synced(offset, digest)
            if self._last_saved is not None and self._last_saved[0] > offset:
                offset, digest = self._last_saved
            self.checkpoint.save(self.state(offset, digest), sync=sync)
            self._last_saved = (offset, digest)
            self.ledger.saved(offset)

    def _raise_failure(self) -> None:
        if self._io is not None:
            self._io.check()

    def _drain(self) -> None:
        if self._io is not None:
            self._io.drain()
