"""``LeaseKeeper``: the daemon's side of a shared store's leases (docs/fleet.md).

When the store is a :class:`~uidt.store.base.LeasingJobStore` (PostgreSQL), the daemon

* renews its leases every third of the lease time (``heartbeat`` on the store's own thread
  pool, never on the event loop), so a lease only expires when this host is dead, frozen or cut
  off from the database;
* stops at once every job whose lease it lost: the ones a heartbeat reports, and the ones whose
  write the store refused (:class:`~uidt.errors.LeaseLostError`, told by the store writer's
  ``lease_lost`` hook). The core stops their runs with ``SYSTEM_PROCESSING`` and forgets them
  (:class:`~uidt.server.events.LeaseLost`);
* fences itself when the database cannot be reached: once no heartbeat succeeded for two thirds
  of the lease (checked on every tick, even while a heartbeat hangs), it stops every job it
  holds and gives their leases up in memory (it cannot tell the database), so its jobs stop one
  heartbeat period *before* their leases can expire and another host claim them;
* takes jobs over: after each heartbeat it claims up to ``claim_limit`` jobs whose lease is
  free or expired (their host died, or gave them back at its shutdown) and hands them to the core
  as if loaded at start; jobs of an app not installed here are given back at once;
* gives every lease back at a clean shutdown (``release_all``), after the last writes, so other
  hosts claim those jobs at once instead of after the expiry;
* tells each run the lease it runs under (:func:`with_lease`: the host id and the lease
  generation in its ``JobParameters``), so the transfer engine can fence its destination.
* claims at once when told that a job became free anywhere (:meth:`LeaseKeeper.wake`, called by
  the store's listener, :mod:`uidt.store.pg_wake`): at most one claim is under way at a time,
  and wakes that come meanwhile make one more claim after it, however many they are.
* with :attr:`LeaseKeeper.offers` (:class:`uidt.daemon.offers.FleetOffers`): claims at most
  this host's free slots, skips the jobs it offered
  for a constraint unmet here, offers what it cannot start now at start, after each claim and
  at each tick, and takes an offered job back before its run starts here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Protocol

from uidt.errors import StoreError
from uidt.job.key import JobKey
from uidt.job.params import JobParameters
from uidt.store.base import LeasingJobStore
from uidt.store.record import JobRecord
from uidt.store.writer import StoreWriter

if TYPE_CHECKING:
    from uidt.daemon.offers import FleetOffers

log = logging.getLogger("uidt.daemon")

#: Most jobs one heartbeat claims.
DEFAULT_CLAIM_LIMIT = 16


class WakeSource(Protocol):
    """Tells when a job became free to claim (:class:`uidt.store.pg_wake.WakeListener`)."""

    def run(
        self,
        on_wake: Callable[[str], None],
        on_taken: Callable[[str], None],
        on_stop: Callable[[str], None] | None = None,
    ) -> Awaitable[None]: ...


class LeaseKeeper:
    """Heartbeats, lost leases and self-fencing for one daemon (see the module doc).

    Args:
        store: the shared store (the writer's store).
        on_lost: called on the event loop with each job to stop here.
        on_claimed: called on the event loop with the jobs a heartbeat claimed (free or
            expired leases: another host died or gave them back); returns the keys it cannot
            run here (an app not installed on this host), whose leases are given back.
        claim_limit: most jobs claimed per heartbeat (so one host does not take the whole
            queue at once).
        monotonic: seconds, for the self-fencing deadline (tests may pass another).
        writer: the store writer over ``store``, for :meth:`tag_run`.
        wakes: tells when a job became free anywhere (the store's listener); each time, this
            host claims at once (:meth:`wake`) instead of at its next heartbeat.
        settle_writes: commits the writes queued so far (the store writer's ``sync``); awaited
            before each claim, so that a write queued before a lease was lost (the removal the
            core queues when it forgets the job) is refused or dropped as a lost lease's write,
            never carried out on the same job claimed again.
    """

    def __init__(
        self,
        store: LeasingJobStore,
        on_lost: Callable[[JobKey], None],
        *,
        on_claimed: Callable[[list[JobRecord]], Sequence[JobKey]] | None = None,
        claim_limit: int = DEFAULT_CLAIM_LIMIT,
        monotonic: Callable[[], float] = time.monotonic,
        writer: StoreWriter | None = None,
        wakes: WakeSource | None = None,
        settle_writes: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.writer = writer
        #: Jobs claimed from another host while running whose first run here has not started.
        self.taken_over: set[JobKey] = set()
        self.on_lost = on_lost
        self.on_claimed = on_claimed
        self.claim_limit = claim_limit
        self._monotonic = monotonic
        self.last_renewed = monotonic()
        #: Called after each heartbeat and take-over, on the event loop (the fleet view's run
        #: list and stop requests, :meth:`uidt.daemon.fleet.FleetDesk.tick`).
        self.after_tick: list[Callable[[], Awaitable[None]]] = []
        #: Heartbeats that succeeded and that failed (``uidt dumpsys``, tests).
        self.beats = 0
        self.failures = 0
        self.wakes = wakes
        self.settle_writes = settle_writes
        #: Claims made (every heartbeat's and every wake's; ``uidt dumpsys``, tests).
        self.claims = 0
        self._claiming: asyncio.Task[None] | None = None
        self._beating: asyncio.Task[None] | None = None
        #: Jobs this host gave back since its last heartbeat (it cannot run them), by name.
        self._given_back: set[str] = set()
        self._claim_again = False
        self._beat_again = False
        #: Told when a stop request was written (payload: the host it was sent to), by the
        #: listener: the fleet desk's :meth:`~uidt.daemon.fleet.FleetDesk.stop_requested`.
        self.on_stop_request: Callable[[str], None] | None = None
        #: Offers what this host cannot start now, takes it back to start it (docs/fleet.md,
        #: "Offering a job to the fleet"); set by ``uidt daemon`` on a store that offers.
        self.offers: FleetOffers | None = None
        #: Run beside the heartbeats while :meth:`run` runs (e.g. claiming when a slot frees).
        self.watchers: list[Callable[[], Awaitable[None]]] = []

    @property
    def period_s(self) -> float:
        """How often the leases are renewed: a third of the lease time."""
        return self.store.lease_ms / 3000

    def lost_from_thread(self, loop: asyncio.AbstractEventLoop) -> Callable[[JobKey], None]:
        """A ``lease_lost`` hook for the store writer's thread: hands the key to the loop."""

        def tell(key: JobKey) -> None:
            loop.call_soon_threadsafe(self._lost, key, "a write was refused")

        return tell

    def _lost(self, key: JobKey, why: str) -> None:
        log.warning("job %s: this host lost its lease (%s); stopping it here", key, why)
        self.on_lost(key)

    @property
    def fence_after_s(self) -> float:
        """No renewal for this long and this host stops its jobs: two thirds of the lease, so
        they stop a period *before* another host may claim them."""
        return self.store.lease_ms / 1000 - self.period_s

    async def run(self) -> None:
        """Every :attr:`period_s`: check the fencing deadline, then renew and take jobs over.

        A heartbeat that hangs (a database that stopped answering) does not hold the deadline
        up: the next tick checks it while that heartbeat is still under way, and starts no other.
        """
        pending: asyncio.Task[None] | None = None
        listening = None if self.wakes is None else asyncio.create_task(self._listen())
        watching = [asyncio.ensure_future(watch()) for watch in self.watchers]
        if self.offers is not None:  # the jobs loaded at start this host cannot start now
            self.offers.soon()
        try:
            while True:
                await asyncio.sleep(self.period_s)
                self.check_deadline()
                if pending is None or pending.done():
                    pending = asyncio.create_task(self._tick())
        finally:
            for task in (pending, listening, self._claiming, self._beating, *watching):
                if task is not None:
                    task.cancel()

    async def _listen(self) -> None:
        assert self.wakes is not None
        await self.wakes.run(self.wake, self.taken, self._stop_requested)

    def _stop_requested(self, host: str) -> None:
        if self.on_stop_request is not None:
            self.on_stop_request(host)

    async def _tick(self) -> None:
        await self.beat()
        self._given_back.clear()  # the periodic claim looks at everything again
        await self.claim_now()
        if self.offers is not None:  # its readings may have changed, its slots filled
            await self.offers.soon()
        for step in self.after_tick:
            try:
                await step()
            except Exception:  # one failing step must not stop the heartbeats
                log.exception("a step after the lease heartbeat failed")

    def taken(self, job: str) -> None:
        """A job free to claim was claimed (``app/[namespace:]id``): if this host stored it
        without running it (it lacks a label), a heartbeat now finds it gone and the core
        forgets it here (a job runs, and is shown, on one host)."""
        offered = getattr(self.store, "offered", None)  # PostgreSQL's store (a property)
        if offered is None or job not in {str(key) for key in offered}:
            return
        if self._beating is not None and not self._beating.done():
            self._beat_again = True  # that beat may have looked before this claim: one more
            return
        self._beating = asyncio.get_running_loop().create_task(self._beat_until_quiet())

    async def _beat_until_quiet(self) -> None:
        while True:
            self._beat_again = False
            await self.beat()
            if not self._beat_again:
                return

    def wake(self, job: str = "") -> None:
        """A job became free somewhere (``app/[namespace:]id``, or ``""``: unknown): claim now
        (on the event loop; see :meth:`claim_now`). Not for a job this host gave back since its
        last heartbeat (it cannot run it): else hosts without the job's app would pass it to
        and fro at once for ever, each release waking the others and itself."""
        if job and job in self._given_back:
            return
        self.claim_now()

    def gave_back(self, keys: Collection[JobKey]) -> None:
        """This host gave ``keys`` back (offered them): their wakes are not for it until its
        next heartbeat."""
        self._given_back.update(str(key) for key in keys)

    def claim_now(self) -> asyncio.Task[None]:
        """Start a claim, coalesced: while one is under way, any number of calls make exactly
        one more after it. The task of the claim that covers this call."""
        if self._claiming is not None and not self._claiming.done():
            self._claim_again = True
            return self._claiming
        self._claiming = asyncio.get_running_loop().create_task(self._claim_until_quiet())
        return self._claiming

    async def _claim_until_quiet(self) -> None:
        while True:
            self._claim_again = False
            await self.take_over()
            if not self._claim_again:
                return

    def check_deadline(self) -> None:
        """Fence this host when its leases went unrenewed for :attr:`fence_after_s`."""
        down_s = self._monotonic() - self.last_renewed
        if down_s >= self.fence_after_s and self.store.held():
            log.warning("no lease renewed for %.1f s: stopping every job this host holds", down_s)
            self.fence()

    async def take_over(self) -> None:
        """Claim up to :attr:`claim_limit` free or expired jobs and hand them to the core."""
        if self.on_claimed is None:
            return
        self.claims += 1
        if self.settle_writes is not None:  # see the argument's doc
            with suppress(StoreError):  # a write that failed: the writer logged it
                await self.settle_writes()
        limit = self.claim_limit
        if self.offers is not None:  # only what this host can start now: its free slots
            limit = min(limit, self.offers.capacity())
            if limit <= 0:
                return
        try:
            if self.offers is not None:  # only what the core says it can start now
                records = await self.offers.claim(limit)
            else:
                records = await asyncio.to_thread(self.store.claim, limit)
        except StoreError as exc:
            log.warning("claiming jobs failed: %s", exc)
            return
        if not records:
            return
        log.info("took over %d job(s): %s", len(records), ", ".join(str(r.key) for r in records))
        refused = list(self.on_claimed(records))
        offered = None if self.offers is None else self.offers.store.from_offer
        self.taken_over.update(  # not a job that was not running when it was offered
            r.key
            for r in records
            if r.key not in refused and not (offered is not None and offered(r.key))
        )
        self._given_back.update(str(key) for key in refused)
        if refused:
            try:
                await asyncio.to_thread(self.store.release, refused)
            except StoreError as exc:
                log.warning("could not give back jobs this host cannot run: %s", exc)
        # a stop request for a job that moved here may name its old holder: look now, not at
        # the next tick (docs/fleet.md, "Stop from any host")
        self._stop_requested(self.store.host_id)
        if self.offers is not None:  # claimed, but a constraint unmet on this host's readings
            await self.offers.offer_now(r.key for r in records if r.key not in refused)

    async def beat(self) -> None:
        """One heartbeat: renew, stop the jobs lost, or fence this host if the store is gone."""
        began = self._monotonic()  # the database renews at or after this
        waiting = set(getattr(self.store, "offered", ()))  # offered, or stored for other hosts
        try:
            result = await asyncio.to_thread(self.store.heartbeat)
        except StoreError as exc:
            self.failures += 1
            down_s = self._monotonic() - self.last_renewed
            log.warning("lease heartbeat failed (%.1f s since the last renewal): %s", down_s, exc)
            self.check_deadline()
            return
        self.beats += 1
        self.last_renewed = began
        for key in result.lost:
            if key in waiting:  # it never ran here: nothing stops, the core forgets it
                log.info("job %s: taken by another host (or removed); not here", key)
                self.on_lost(key)
            else:
                self._lost(key, "another host claimed it, or it was removed")

    def fence(self) -> None:
        """Stop every job this host holds: its leases may have been claimed by now."""
        for key in self.store.abandon():
            self._lost(key, "its leases went unrenewed: the store cannot be reached")

    async def tag_run(self, key: JobKey, params: JobParameters) -> JobParameters:
        """``params`` of a run about to start, with its lease (:func:`with_lease`) and, for the
        first run of a job this host took over, ``taken_over``.

        Raises:
            LeaseLostError: the job was offered and another host claimed it first: the run
                must not start (the core was told, :meth:`FleetOffers.before_start`).
        """
        if self.offers is not None:  # LeaseLostError: another host took it, not started here
            await self.offers.before_start(key)
        if self.writer is not None:
            params = await with_lease(self.writer, key, params)
        if key in self.taken_over and params.lease_generation is not None:
            self.taken_over.discard(key)
            params = dataclasses.replace(params, taken_over=True)
        return params

    async def release(self) -> None:
        """Give every lease back (clean shutdown, after the last writes); errors are logged."""
        try:
            await asyncio.to_thread(self.store.release_all)
        except StoreError as exc:
            log.warning("could not give the leases back (they expire on their own): %s", exc)


async def with_lease(writer: StoreWriter, key: JobKey, params: JobParameters) -> JobParameters:
    """``params`` with this host's id and its lease generation of ``key``, on a shared store.

    A job scheduled a moment ago may not be in the store yet (its write is queued on the
    writer, committed before ``schedule()`` answers, but the run may start first): then this
    waits for the writes queued so far, which draw its generation. Unchanged on a store of one
    host, for a job not persisted (it never leaves this host) and for one this host no longer
    holds (its run is being stopped).
    """
    store = writer.store
    if not isinstance(store, LeasingJobStore):
        return params
    generation = store.held().get(key)
    if generation is None:
        try:
            await writer.sync()
        except StoreError:
            return params
        generation = store.held().get(key)
    if generation is None:
        return params
    return dataclasses.replace(params, host_id=store.host_id, lease_generation=generation)
