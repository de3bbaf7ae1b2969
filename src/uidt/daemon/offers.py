"""``FleetOffers``: the daemon offers the jobs it cannot start now to the other hosts.

On a shared store (docs/fleet.md, "Offering a job to the fleet") a job held here that the core
cannot start now for a reason another host might not share (no free slot, a constraint unmet
on this host's readings: :mod:`uidt.server.fleetoffer`) is *offered*: its lease given back with
a new generation and the listening hosts woken (:func:`uidt.store.pg_offers.offer`). The core
keeps its copy, waiting, so the job is neither lost nor shown twice; once another host claimed it,
the heartbeat reports it gone and the core forgets it (``LeaseLost``: it never ran here). Should
this host be able to start it first, :meth:`FleetOffers.before_start` takes it back (fenced: one
host wins) before the run goes to the worker, or forgets it if another host won.

No ping-pong: a host claims only what it can start now (:meth:`FleetOffers.claim`: it looks at
the free jobs first, the core chooses, at most its free slots, and a full host claims nothing),
ignores the wake of a job it offered since its last heartbeat, and skips a job it offered or
saw for a constraint unmet here until its readings change (:meth:`FleetOffers.exclusions`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from contextlib import suppress

from uidt.errors import LeaseLostError, StoreError
from uidt.job.key import JobKey
from uidt.server.fleetoffer import ClaimChoice, OfferReason
from uidt.store.base import OfferingStore
from uidt.store.record import JobRecord

log = logging.getLogger("uidt.daemon")

#: A claim looks at this many free jobs at least (four per slot it may fill, if more) ...
PEEK_AT_LEAST = 16
#: ... in at most this many pages, while every job of a page is one it cannot start.
PAGES = 8


class FleetOffers:
    """Offers and takes back this host's jobs (see the module doc).

    Args:
        store: the shared store's offers (its ``offering``).
        decide: the core's answer: which of the given jobs (``None``: all) to offer, and why
            (``Queries.fleet_offers``); called on the event loop.
        choose: the core's answer: which of the jobs free to claim this host could start now
            (``Queries.startable``); called on the event loop.
        capacity: this host's free execution slots (``Queries.free_slots``): a claim takes at
            most that many jobs, none when full.
        device_seq: a number that changes whenever this host's readings change.
        settle_writes: commits the writes queued so far (the store writer's ``sync``), so a
            queued write of a job never lands after its offer (it would take the job back).
        gave_back: told the jobs offered (the lease keeper ignores their wakes until its next
            heartbeat).
        lost: told a job another host claimed while this host was about to start it.
    """

    def __init__(
        self,
        store: OfferingStore,
        *,
        decide: Callable[[Iterable[JobKey] | None], dict[JobKey, OfferReason]],
        choose: Callable[[Sequence[JobRecord]], ClaimChoice],
        capacity: Callable[[], int],
        device_seq: Callable[[], int],
        settle_writes: Callable[[], Awaitable[None]] | None = None,
        gave_back: Callable[[Collection[JobKey]], None] | None = None,
        lost: Callable[[JobKey], None] | None = None,
    ) -> None:
        self.store = store
        self.decide, self.choose, self.device_seq = decide, choose, device_seq
        self.capacity = capacity
        self.settle_writes = settle_writes
        self.gave_back, self.lost = gave_back, lost
        #: Jobs offered for a constraint unmet here, or seen free to claim and not startable
        #: here, with :attr:`device_seq` then.
        self.declined: dict[JobKey, int] = {}
        #: Jobs offered, taken back to start here, and claimed (``uidt dumpsys``, tests).
        self.offered = 0
        self.reclaimed = 0
        self.claimed = 0
        #: Offers and starts one at a time: a run never starts on a lease being offered.
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._wanted: set[JobKey] | None = set()  # None: every job

    def exclusions(self) -> list[JobKey]:
        """The jobs this host's claims skip: offered for a constraint unmet here, its readings
        unchanged since (their entries are dropped once the readings changed)."""
        now = self.device_seq()
        self.declined = {k: seq for k, seq in self.declined.items() if seq == now}
        return list(self.declined)

    async def claim(self, limit: int) -> list[JobRecord]:
        """Claim at most ``limit`` free jobs this host can start now: look at the first ones
        free (not claiming them), let the core choose, claim just those if still free at the
        generation seen. The ones it cannot start are skipped from then on until its readings
        change, so the next page is looked at (at most :data:`PAGES` pages a claim)."""
        size = max(PEEK_AT_LEAST, 4 * limit)
        for _ in range(PAGES):
            exclude = self.exclusions()
            seen = await asyncio.to_thread(self.store.peek, size, exclude)
            choice = self.choose([record for record, _ in seen])
            seq = self.device_seq()
            for key in choice.unfit:
                self.declined[key] = seq
            generations = {record.key: generation for record, generation in seen}
            wanted = [(key, generations[key]) for key in choice.take[:limit]]
            if wanted:
                records = await asyncio.to_thread(self.store.claim, limit, exclude, wanted)
                self.claimed += len(records)
                return records
            if len(seen) < size or not choice.unfit:  # the end of the queue, or full here
                return []
        return []

    def soon(self, keys: Iterable[JobKey] | None = None) -> asyncio.Task[None]:
        """Look at ``keys`` (``None``: every job) for offers, coalesced: while a look is under
        way, the calls meanwhile make one more look after it, over the union of their keys."""
        if self._wanted is not None:
            if keys is None:
                self._wanted = None
            else:
                self._wanted.update(keys)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._until_quiet())
        return self._task

    async def _until_quiet(self) -> None:
        while self._wanted is None or self._wanted:
            wanted, self._wanted = self._wanted, set()
            await self.offer_now(wanted)

    async def offer_now(self, keys: Iterable[JobKey] | None = None) -> list[JobKey]:
        """Offer what the core cannot start now among ``keys`` (``None``: all); the keys
        offered. A store error is logged: the jobs stay held here, the next look tries again."""
        if self.settle_writes is not None:
            with suppress(StoreError):  # a write that failed: the writer logged it
                await self.settle_writes()
        async with self._lock:
            reasons = self.decide(None if keys is None else list(keys))
            held = self.store.held()
            chosen = [key for key in reasons if key in held]
            if not chosen:
                return []
            try:
                done = await asyncio.to_thread(self.store.offer, chosen)
            except StoreError as exc:
                log.warning("could not offer jobs to the other hosts: %s", exc)
                return []
        seq = self.device_seq()
        for key in done:
            if reasons[key] is OfferReason.CONSTRAINT_UNMET_HERE:
                self.declined[key] = seq
            log.info("job %s: offered to the other hosts (%s)", key, reasons[key].value)
        self.offered += len(done)
        if self.gave_back is not None and done:
            self.gave_back(done)
        return done

    async def before_start(self, key: JobKey) -> None:
        """Before a run of ``key`` goes to its worker: take the job back if this host offered
        it (fenced on its offer's generation); refuse it if this host lost the job.

        Waits for an offer under way (the lock), so a run never starts on a lease being
        offered: the offer decided on a job that was not running, and is taken back here.

        Raises:
            LeaseLostError: another host claimed it first, or this host lost its lease (or
                the store could not be reached: the job stays free to claim); the core was told
                (``lost``) and the run must not start.
        """
        async with self._lock:
            if key in self.store.offered:
                try:
                    await asyncio.to_thread(self.store.reclaim, key)
                except (LeaseLostError, StoreError) as exc:
                    if isinstance(exc, LeaseLostError):
                        log.info("job %s: another host claimed it first; not starting it", key)
                    else:  # it stays free to claim, for every host (this one too)
                        log.warning("job %s: could not take it back to start it: %s", key, exc)
                        self.store.withdraw(key)
                    self._refuse(key)
                    raise LeaseLostError(f"job {key}: not taken back ({exc})", key) from exc
                self.reclaimed += 1
                self.declined.pop(key, None)
                return
        if self.store.has_lost(key):  # its loss is being reported: the run must not start
            log.info("job %s: this host lost its lease; not starting it", key)
            self._refuse(key)
            raise LeaseLostError(f"job {key}: this host lost its lease", key)

    def _refuse(self, key: JobKey) -> None:
        """Tell the core the job is not this host's (a second report of it changes nothing)."""
        if self.lost is not None:
            self.lost(key)
