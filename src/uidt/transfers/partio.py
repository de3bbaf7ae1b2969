"""The I/O thread of an open part file: :class:`PartIO`.

The event loop never touches the disk. :meth:`PartIO.add` only collects chunks; full batches
(``batch_bytes``, 8 MiB) go to one I/O thread, which appends them with ``os.writev`` (no copy),
asks the kernel to start writing them back (``sync_file_range``, where available, so the disk
works while the network does) and keeps the running SHA-256. Checkpoints are queued behind
those writes on the same thread (:meth:`PartIO.commit`; FIFO, so a checkpoint never names
bytes that are not in the file). A durable checkpoint's ``fdatasync`` (which waits for the disk,
seconds when it is busy) is handed from there to a second, sync thread (:meth:`PartIO.run_sync`),
so the writes and the recorded checkpoints behind it never wait for the disk. Everything queued
on a thread runs in order; the first failure (``ENOSPC``, ``EIO``) on either stops the rest and
is raised to the writer on its next call (:meth:`PartIO.check`).

Waiting is the caller's choice: :meth:`PartIO.drain` blocks (a thread of its own, or closing),
:meth:`PartIO.settled` awaits (a coroutine: the loop goes on meanwhile). What the queued work
does with the checkpoint is :class:`~uidt.transfers.partfile.PartFile`'s business.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
from collections import deque
from collections.abc import Callable
from typing import Any

from uidt.transfers.diskio import start_writeback

#: Bytes collected before a batch goes to the I/O thread.
BATCH_BYTES = 8 * 1024 * 1024
#: Chunks per batch at most (``writev`` takes at most IOV_MAX = 1024 buffers).
BATCH_CHUNKS = 512

Future = concurrent.futures.Future[Any]


def write_batch(fd: int, batch: list[bytes], start: int, hasher: Any) -> None:
    """Append ``batch`` at ``start`` of ``fd``, hash it, start its writeback (I/O thread)."""
    size = sum(len(chunk) for chunk in batch)
    done = os.writev(fd, batch)
    if done < size:  # a short write: finish chunk by chunk
        view = memoryview(b"".join(batch))[done:]
        while view:
            view = view[os.write(fd, view) :]
    if hasher is not None:
        for chunk in batch:
            hasher.update(chunk)
    if start_writeback is not None:
        start_writeback(fd, start, size)


async def ran(future: Future) -> None:
    """Await queued work until it has run, whatever its outcome (a failure is kept in
    :attr:`PartIO.error` and raised by :meth:`PartIO.check`).

    Only the waiting is cancellable: a cancel of the awaiting task (a download being stopped)
    is raised in it, and never reaches the work, which runs all the same. (Awaiting
    ``asyncio.wrap_future`` directly would cancel still queued work, a checkpoint the stopped
    download asked for, and suppressing what that raises would swallow the task's cancel: the
    stopped download would run on.)
    """
    await asyncio.wait([asyncio.wrap_future(future)])


class PartIO:
    """One I/O thread and its queue, for one opening of a part file.

    Args:
        batch_bytes: Bytes collected by :meth:`add` before a batch is due.
    """

    def __init__(self, batch_bytes: int = BATCH_BYTES) -> None:
        self.batch_bytes = batch_bytes
        self.error: BaseException | None = None  # the first failure; nothing runs after it
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="uidt-partfile")
        self._sync_pool: concurrent.futures.ThreadPoolExecutor | None = None  # made when needed
        self._syncing: Future | None = None  # ends with the last work queued on the sync thread
        self._queued: deque[Future] = deque()
        self._commits: deque[tuple[int, Future]] = deque()
        self._batch: list[bytes] = []
        self._batch_size = 0

    # -- queueing ----------------------------------------------------------------------------
    def run(self, work: Callable[..., None], *args: Any) -> Future:
        """Queue ``work(*args)`` behind everything queued before (skipped after a failure)."""
        return self._submit(self._pool, work, *args)

    def run_beside(self, work: Callable[..., None], *args: Any) -> Future:
        """Queue ``work(*args)`` on the sync thread, as disk work nothing else waits for (the
        start of a range's writeback): the I/O thread never queues behind it."""
        return self._submit(self._sync_thread(), work, *args)

    def _sync_thread(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._sync_pool is None:
            self._sync_pool = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="uidt-partsync"
            )
        return self._sync_pool

    def run_sync(self, work: Callable[..., None], *args: Any) -> Future:
        """Queue ``work(*args)`` on the sync thread, behind the syncs queued there before.

        Called from the I/O thread (so the work follows the writes queued before it there);
        the I/O thread goes on at once.
        """
        ended: Future = concurrent.futures.Future()
        self._syncing = ended  # before the sync can start: syncing() never misses it

        def sync_then_end() -> None:
            try:
                work(*args)
            finally:
                ended.set_result(None)

        return self._submit(self._sync_thread(), sync_then_end)

    def syncing(self) -> bool:
        """Whether a sync is queued or running on the sync thread."""
        return self.error is None and self._syncing is not None and not self._syncing.done()

    def _submit(
        self, pool: concurrent.futures.ThreadPoolExecutor, work: Callable[..., None], *args: Any
    ) -> Future:
        def latched() -> None:
            if self.error is not None:
                return
            try:
                work(*args)
            except BaseException as exc:
                self.error = exc
                raise

        future = pool.submit(latched)
        self._queued.append(future)  # (a deque's append is safe from either thread)
        return future

    def add(self, chunk: bytes) -> bool:
        """Collect ``chunk`` for the next batch; ``True`` when the batch is full."""
        self._batch.append(chunk)
        self._batch_size += len(chunk)
        return self._batch_size >= self.batch_bytes or len(self._batch) >= BATCH_CHUNKS

    def flush(self, fd: int, end: int, hasher: Any) -> None:
        """Queue the collected chunks, which end at offset ``end``, as one write."""
        if not self._batch:
            return
        batch, start = self._batch, end - self._batch_size
        self._batch, self._batch_size = [], 0
        if self.error is None:
            self.run(write_batch, fd, batch, start, hasher)

    def commit(self, offset: int, work: Callable[..., None], *args: Any) -> None:
        """Queue ``work`` as the checkpoint that names the first ``offset`` bytes."""
        self._commits.append((offset, self.run(work, *args)))

    # -- state -------------------------------------------------------------------------------
    def idle(self) -> bool:
        """Whether everything queued has run."""
        return self._pending() is None

    def commits_until(self, offset: int) -> list[Future]:
        """The commits in flight, up to the first that names ``offset`` bytes or more."""
        until: list[Future] = []
        for target, future in list(self._commits):
            until.append(future)
            if target >= offset:
                break
        return until

    def check(self) -> None:
        """Forget what has run; raise the thread's failure, if any."""
        while self._queued and self._queued[0].done():
            self._queued.popleft()
        while self._commits and self._commits[0][1].done():
            self._commits.popleft()
        if self.error is not None:
            raise self.error

    # -- waiting -----------------------------------------------------------------------------
    def drain(self) -> None:
        """Block until everything queued has run (its failures are kept in :attr:`error`)."""
        while pending := self._pending():
            with contextlib.suppress(BaseException):
                pending.result()
        self._queued.clear()
        self._commits.clear()

    async def settled(self) -> None:
        """Await everything queued on both threads, without blocking the loop.

        A cancel of the awaiting task is raised (see :func:`ran`); the queued work runs anyway.
        """
        while pending := self._pending():
            await ran(pending)

    def _pending(self) -> Future | None:
        """The first queued work not yet run (a sync is queued before the work queueing it ends)."""
        return next((future for future in list(self._queued) if not future.done()), None)

    def shutdown(self) -> None:
        """Stop the threads (after what is queued); drop the collected, unwritten chunks."""
        self._pool.shutdown(wait=True)  # first: it may still hand a sync to the other
        if self._sync_pool is not None:
            self._sync_pool.shutdown(wait=True)
        self._batch, self._batch_size = [], 0
        self._commits.clear()
