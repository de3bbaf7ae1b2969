"""``StoreWriter``: the daemon's store writes, carried out on a writer thread of their own.

The daemon's event loop must not wait for the disk: one SQLite commit with ``synchronous=FULL``
is an fsync, milliseconds on a good disk and seconds on a busy one, and every API request, app
callback and timer waits behind it. So the loop only *queues* writes here and a single writer
thread commits them:

* writes to the same slot (one job, one app, one notification, one metadata key) coalesce, the
  last one wins, so a job persisted five times while the disk was busy is written once;
* each commit takes everything queued so far and writes it in one transaction (one fsync);
* a write nobody waits for (runtime stamps, stop bookkeeping, rescheduling after a run) is
  committed at most ``linger_s`` after it was queued, so writes arriving close together share
  one commit;
* :meth:`sync` is the durability barrier: it returns (to a coroutine) once everything queued
  before the call is committed, raising :class:`~uidt.errors.StoreError` if any of it could not
  be. The control API awaits it before answering a request that changed something, so a
  ``schedule()`` that answered is on disk, exactly as before;
* :meth:`write_job` is ``schedule()``'s barrier: it queues one job write and returns once that
  write is committed, raising *its own* error if it failed (not another queued write's), so the
  daemon takes a job into its core only once the job is durably stored;
* :meth:`close` commits everything still queued, then closes the store.

What a SIGKILL (or a power cut) of the daemon can lose is therefore only writes that no answer
has promised yet, from at most the last ``linger_s`` (plus one commit): the same jobs a restart
would find after a kill a moment earlier.

Observing: ``commit_observer`` (optional, ``None`` by default) is called on the writer thread
after each commit with its duration in seconds and how many writes it carried; the metrics
module sets it when the ``metrics`` setting is on (``uidt_store_commit_seconds``), so this
module imports nothing of Prometheus. An observer that raises is logged and ignored.

Reads: the installed apps are mirrored in memory (a handful of records), so ``get_app`` and
``apps`` never wait for a commit; ``load_jobs`` and ``device_readings`` are read from the store (start-up only).

Android keeps its ``JobStore`` off the main thread the same way (``JobStore.mWriteRunnable``
on a background handler, writes coalesced behind ``JOB_PERSIST_DELAY``); uidt adds the barrier
because its ``schedule()`` promises durability.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager, suppress

from uidt.device.history import DeviceReading
from uidt.errors import LeaseLostError, StoreError
from uidt.job.key import JobKey
from uidt.store.base import JobStore, LeasingJobStore
from uidt.store.batch import (
    AddDeviceReadings,
    BatchWriting,
    DropApp,
    DropJob,
    DropNotification,
    PutApp,
    PutJob,
    PutNotification,
    StoreWrite,
    apply_write,
)
from uidt.store.record import AppRecord, JobRecord, NotificationRecord

log = logging.getLogger("uidt.store")

#: Default longest wait of a write nobody waits for, before it is committed.
DEFAULT_LINGER_S = 0.2

#: A coroutine waiting for a commit: the write sequence it waits for, its loop and future, and
#: the slot of its own write (``None``: it waits for every write queued before it).
_Waiter = tuple[int, asyncio.AbstractEventLoop, "asyncio.Future[None]", Hashable | None]
#: Told of each commit: its duration in seconds and the number of writes it carried.
CommitObserver = Callable[[float, int], None]


class StoreWriter:
    """Write-behind front of a :class:`~uidt.store.base.JobStore` (see the module doc).

    Args:
        store: the store; the writer owns it from now on (``close`` closes it).
        linger_s: longest wait of a write nobody waits for.
        monotonic: the clock of that wait (tests may pass another).
        timer: the clock that times each commit for ``commit_observer`` (tests may pass another).
        commit_observer: told of each commit (see the module doc); may be set later too.
        lease_lost: told of each job whose lease this host lost (shared stores); may be set
            later too.
    """

    def __init__(
        self,
        store: JobStore,
        *,
        linger_s: float = DEFAULT_LINGER_S,
        monotonic: Callable[[], float] = time.monotonic,
        timer: Callable[[], float] = time.perf_counter,
        commit_observer: CommitObserver | None = None,
        lease_lost: Callable[[JobKey], None] | None = None,
    ) -> None:
        self.store = store
        self.linger_s = linger_s
        self._monotonic = monotonic
        self._timer = timer
        self.commit_observer = commit_observer
        #: Told (on the writer thread) of each job whose write a shared store refused because
        #: another host holds its lease now (:class:`~uidt.errors.LeaseLostError`).
        self.lease_lost = lease_lost
        self._apps: dict[str, AppRecord] = {r.package: r for r in store.apps()}
        self._cond = threading.Condition()
        self._pending: dict[Hashable, StoreWrite] = {}
        self._queued = 0  # sequence number of the last queued write
        self._done = 0  # everything up to here is committed (or reported failed)
        self._oldest: float | None = None  # when the oldest pending write was queued
        self._urgent = False
        self._holds = 0  # open batch() blocks
        self._closing = False
        self._closed = False
        self._waiters: list[_Waiter] = []
        #: Commits so far and writes they carried (``uidt dumpsys``, tests, benchmarks).
        self.commits = 0
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="uidt-store-writer", daemon=True)
        self._thread.start()

    # -- the writes (called on the loop; they never wait for the disk) ---------------------

    def put_job(self, record: JobRecord) -> None:
        """Queue ``put_job``; the record is the writer's from now on (do not change it)."""
        self._queue(PutJob(record))

    def remove_job(self, key: JobKey) -> None:
        self._queue(DropJob(key))

    def put_notification(self, record: NotificationRecord) -> None:
        self._queue(PutNotification(record))

    def remove_notification(self, app: str, notification_id: int) -> None:
        self._queue(DropNotification(app, notification_id))

    def put_app(self, record: AppRecord) -> None:
        record = copy.deepcopy(record)
        self._apps[record.package] = record
        self._queue(PutApp(copy.deepcopy(record)))

    def remove_app(self, package: str) -> None:
        self._apps.pop(package, None)
        self._queue(DropApp(package))

    def add_device_readings(
        self, readings: Sequence[DeviceReading], keep_since_utc_ms: int, keep_at_most: int
    ) -> None:
        """Queue appending device readings (and pruning the old ones) in the next commit."""
        self._queue(AddDeviceReadings(tuple(readings), keep_since_utc_ms, keep_at_most))

    # -- reads ----------------------------------------------------------------------------

    def get_app(self, package: str) -> AppRecord | None:
        record = self._apps.get(package)
        return None if record is None else copy.deepcopy(record)

    def apps(self) -> list[AppRecord]:
        return [copy.deepcopy(self._apps[p]) for p in sorted(self._apps)]

    def load_jobs(self) -> list[JobRecord]:
        return self.store.load_jobs()

    def load_notifications(self) -> list[NotificationRecord]:
        return self.store.load_notifications()

    def device_readings(self) -> list[DeviceReading]:
        """The kept device readings, read from the store (start-up only: it may wait)."""
        return self.store.device_readings()

    # -- batching and durability ------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Writes queued inside the block go into one commit (the thread waits for its end)."""
        with self._cond:
            self._holds += 1
        try:
            yield
        finally:
            with self._cond:
                self._holds -= 1
                self._cond.notify_all()

    def pending(self) -> int:
        """How many writes wait for a commit."""
        with self._cond:
            return len(self._pending)

    @property
    def queued(self) -> int:
        """How many writes were queued so far (it moves when a caller queued one)."""
        return self._queued

    async def sync(self) -> None:
        """Return once every write queued before the call is committed.

        Raises:
            StoreError: some of those writes could not be committed.
        """
        loop = asyncio.get_running_loop()
        with self._cond:
            if self._done >= self._queued:
                return
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((self._queued, loop, future, None))
            self._urgent = True
            self._cond.notify_all()
        await future

    async def write_job(self, record: JobRecord) -> None:
        """Queue ``put_job`` and return once it is committed (the ``schedule()`` barrier).

        Unlike :meth:`sync`, only this write's fate counts: another write queued before it that
        fails does not fail this one, and the error raised is this write's own.

        Raises:
            StoreError: this write could not be committed (the store holds what it held).
        """
        write = PutJob(record)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            self._queue_locked(write)
            self._waiters.append((self._queued, loop, future, write.slot()))
            self._urgent = True
            self._cond.notify_all()
        await future

    def flush(self) -> None:
        """Commit everything queued so far, waiting in the calling thread (not on a loop)."""
        with self._cond:
            target = self._queued
            self._urgent = True
            self._cond.notify_all()
            while self._done < target and self._thread.is_alive():
                self._cond.wait()

    def close(self, *, release_leases: bool = False) -> None:
        """Commit everything still queued, stop the thread and close the store (idempotent).

        ``release_leases``: on a shared store (:class:`~uidt.store.base.LeasingJobStore`), give
        every lease back once the last write is committed (the daemon's clean shutdown), so
        other hosts claim those jobs at once; a failure is logged (the leases then expire).
        """
        with self._cond:
            if self._closed:
                return
            self._closed = self._closing = True
            self._cond.notify_all()
        self._thread.join()
        if release_leases and isinstance(self.store, LeasingJobStore):
            try:
                self.store.release_all()
            except StoreError as exc:
                log.warning("could not give the leases back (they expire on their own): %s", exc)
        self.store.close()

    # -- the writer thread -----------------------------------------------------------------

    def _queue(self, write: StoreWrite) -> None:
        with self._cond:
            self._queue_locked(write)
            if self._holds == 0:
                self._cond.notify_all()

    def _queue_locked(self, write: StoreWrite) -> None:
        if self._closed:
            raise StoreError("the store writer is closed")
        slot = write.slot()
        self._pending.pop(slot, None)  # the last write of a slot goes last
        self._pending[slot] = write
        self._queued += 1
        if self._oldest is None:
            self._oldest = self._monotonic()

    def _next_batch(self) -> tuple[list[StoreWrite], int] | None:
        """Wait until a batch is due; ``None`` when closing with nothing left."""
        with self._cond:
            while True:
                if self._pending and self._holds == 0:
                    if self._urgent or self._closing:
                        break
                    assert self._oldest is not None
                    left = self._oldest + self.linger_s - self._monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                elif self._closing and not self._pending:
                    return None
                else:
                    self._cond.wait()
            batch = list(self._pending.values())
            self._pending.clear()
            self._oldest = None
            self._urgent = False
            return batch, self._queued

    def _run(self) -> None:
        while True:
            due = self._next_batch()
            if due is None:
                return
            batch, through = due
            began = self._timer()
            errors = self._commit(batch)
            self._tell(self._timer() - began, len(batch))
            with self._cond:
                self.commits += 1
                self.written += len(batch)
                self._done = through
                ready = [w for w in self._waiters if w[0] <= through]
                self._waiters = [w for w in self._waiters if w[0] > through]
                self._cond.notify_all()
            first = next(iter(errors.values()), None)
            for _target, loop, future, slot in ready:
                error = first if slot is None else errors.get(slot)
                with suppress(RuntimeError):  # that loop is closed: nobody waits any more
                    loop.call_soon_threadsafe(_settle, future, error)

    def _tell(self, seconds: float, writes: int) -> None:
        observer = self.commit_observer
        if observer is None:
            return
        try:
            observer(seconds, writes)
        except Exception:  # an observer must never stop the commits
            log.exception("the store's commit observer failed")

    def _commit(self, batch: list[StoreWrite]) -> dict[Hashable, StoreError]:
        """Write one batch (one transaction where the store can); returns the failed writes'
        errors by slot, in the batch's order (empty: everything was committed)."""
        if isinstance(self.store, BatchWriting):
            try:
                self.store.write_batch(batch)
                return {}
            except Exception as exc:  # retried one by one below
                log.warning(
                    "%d store writes failed together (%s); retrying one by one", len(batch), exc
                )
        errors: dict[Hashable, StoreError] = {}
        for write in batch:
            try:
                apply_write(self.store, write)
            except LeaseLostError as exc:  # another host holds the job now: stop it here
                log.warning("store write %s refused: %s", type(write).__name__, exc)
                errors[write.slot()] = exc
                self._tell_lost(exc)
            except Exception as exc:  # one bad write must not lose the others
                log.error("store write %s failed: %s", type(write).__name__, exc)
                errors[write.slot()] = _as_store_error(exc)
        return errors

    def _tell_lost(self, exc: LeaseLostError) -> None:
        if self.lease_lost is None or not isinstance(exc.key, JobKey):
            return
        try:
            self.lease_lost(exc.key)
        except Exception:  # the hook must never stop the commits
            log.exception("the store's lease-lost hook failed")


def _as_store_error(exc: Exception) -> StoreError:
    if isinstance(exc, StoreError):
        return exc
    error = StoreError(f"store write failed: {exc}")
    error.__cause__ = exc
    return error


def _settle(future: asyncio.Future[None], error: StoreError | None) -> None:
    if future.done():  # the awaiting task was cancelled
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
