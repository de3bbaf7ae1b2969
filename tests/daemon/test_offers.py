"""``FleetOffers`` on a stand-in store (deterministic, no database): a run never starts on a
lease being offered or lost, and the claims skip what this host cannot start (docs/fleet.md,
"Offering a job to the fleet"). The same with a real PostgreSQL: test_fleet_offers.py."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Collection, Iterable, Sequence

import pytest

from uidt.daemon.offers import FleetOffers
from uidt.errors import LeaseLostError
from uidt.job.key import JobKey
from uidt.server.fleetoffer import ClaimChoice, OfferReason
from uidt.store.record import JobRecord
from uidt.testing.store_contract import make_record

WAIT_S = 10.0


def key(job_id: int) -> JobKey:
    return JobKey("com.example", None, job_id)


class StandInStore:
    """The offering side of a shared store, in memory; ``taken``: claimed by another host."""

    def __init__(self) -> None:
        self.held_now: dict[JobKey, int] = {key(1): 5, key(2): 6}
        self.offered: list[JobKey] = []
        self.lost: set[JobKey] = set()
        self.taken: set[JobKey] = set()
        self.free: list[tuple[JobRecord, int]] = []
        self.claimed_pairs: list[list[tuple[JobKey, int]]] = []
        self.offer_entered = threading.Event()
        self.offer_go = threading.Event()
        self.offer_go.set()

    def held(self) -> dict[JobKey, int]:
        return dict(self.held_now)

    def offer(self, keys: Sequence[JobKey]) -> list[JobKey]:
        self.offer_entered.set()
        assert self.offer_go.wait(WAIT_S)
        done = [k for k in keys if self.held_now.pop(k, None) is not None]
        self.offered += done
        return done

    def reclaim(self, job: JobKey) -> int:
        self.offered.remove(job)
        if job in self.taken:
            self.lost.add(job)
            raise LeaseLostError(f"job {job}: taken", job)
        self.held_now[job] = 9
        return 9

    def has_lost(self, job: JobKey) -> bool:
        return job in self.lost

    def withdraw(self, job: JobKey) -> None:
        self.offered.remove(job)

    def peek(self, limit: int, exclude: Collection[JobKey] = ()) -> list[tuple[JobRecord, int]]:
        return [(r, g) for r, g in self.free if r.key not in exclude][:limit]

    def claim(
        self,
        limit: int | None = None,
        exclude: Collection[JobKey] = (),
        only: Collection[tuple[JobKey, int]] | None = None,
    ) -> list[JobRecord]:
        self.claimed_pairs.append(sorted(only or (), key=str))
        wanted = {k for k, _ in only or ()}
        return [r for r, _ in self.free if r.key in wanted]


class Core:
    """The core's answers, set by the test."""

    def __init__(self) -> None:
        self.offers: dict[JobKey, OfferReason] = {}
        self.choice = ClaimChoice([], [])
        self.lost: list[JobKey] = []
        self.seq = 0

    def decide(self, keys: Iterable[JobKey] | None) -> dict[JobKey, OfferReason]:
        wanted = None if keys is None else set(keys)
        return {k: r for k, r in self.offers.items() if wanted is None or k in wanted}

    def choose(self, records: Sequence[JobRecord]) -> ClaimChoice:
        return self.choice


def offers_on(store: StandInStore, core: Core) -> FleetOffers:
    return FleetOffers(
        store,  # type: ignore[arg-type]
        decide=core.decide,
        choose=core.choose,
        capacity=lambda: 2,
        device_seq=lambda: core.seq,
        lost=core.lost.append,
    )


async def test_a_start_waits_for_the_offer_under_way_and_takes_the_job_back() -> None:
    store, core = StandInStore(), Core()
    core.offers = {key(1): OfferReason.NO_FREE_SLOT}
    offers = offers_on(store, core)
    store.offer_go.clear()
    offering = asyncio.create_task(offers.offer_now())
    await asyncio.to_thread(store.offer_entered.wait, WAIT_S)
    starting = asyncio.create_task(offers.before_start(key(1)))  # a slot freed meanwhile
    await asyncio.sleep(0.01)
    assert not starting.done()  # it waits for the offer, never starts on an offered lease
    store.offer_go.set()
    assert await asyncio.wait_for(offering, WAIT_S) == [key(1)]
    await asyncio.wait_for(starting, WAIT_S)
    assert store.held_now[key(1)] == 9
    assert store.offered == []
    assert offers.reclaimed == 1
    assert core.lost == []


async def test_hostile_an_offer_taken_first_is_not_started_and_the_core_is_told() -> None:
    store, core = StandInStore(), Core()
    core.offers = {key(1): OfferReason.NO_FREE_SLOT}
    offers = offers_on(store, core)
    await offers.offer_now()
    store.taken.add(key(1))
    with pytest.raises(LeaseLostError):
        await offers.before_start(key(1))
    assert core.lost == [key(1)]


async def test_hostile_a_job_whose_lease_was_lost_is_not_started() -> None:
    store, core = StandInStore(), Core()
    offers = offers_on(store, core)
    store.held_now.pop(key(2))
    store.lost.add(key(2))  # a heartbeat found it gone; its report is on the way
    with pytest.raises(LeaseLostError):
        await offers.before_start(key(2))
    assert core.lost == [key(2)]
    await offers.before_start(key(1))  # held: nothing to do
    assert core.lost == [key(2)]


async def test_a_claim_takes_what_the_core_chose_and_skips_the_unfit_until_readings_change() -> (
    None
):
    store, core = StandInStore(), Core()
    store.free = [(make_record(job_id=n), 10 + n) for n in (3, 4, 5)]
    offers = offers_on(store, core)
    core.choice = ClaimChoice(take=[key(5)], unfit=[key(3), key(4)])
    assert [r.key for r in await offers.claim(limit=2)] == [key(5)]
    assert store.claimed_pairs == [[(key(5), 15)]]  # the generation it saw: if still free
    assert sorted(offers.exclusions(), key=str) == [key(3), key(4)]
    core.seq += 1  # this host's readings changed: it looks at them again
    assert offers.exclusions() == []
