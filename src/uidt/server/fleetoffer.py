"""Which held jobs this host cannot start now for a reason another host might not share.

On a shared store (docs/fleet.md, "Offering a job to the fleet") a host gives such a job's lease
back so that an idle host may claim it, and keeps its own copy until one does. The decision is
the core's, made from the facts of its last check pass; the daemon acts on it (the store writes,
the notifications). Android has one device, so it has no such rule: this is uidt's own, with
the slots counted as AOSP ``JobConcurrencyManager`` counts them (``limits_now``).

Two reasons, in :class:`OfferReason`:

* **no free slot**: the job is ready (every constraint holds here) and waits in the pending
  queue, every execution slot of this host taken;
* **a constraint unmet here**: every one of its pending reasons comes from this host's own
  readings (:data:`HOST_LOCAL_REASONS`: battery, charger, network, storage, heat, power saver).
  A job also held back by something another host shares (its backoff delay, its app stopped
  by the user, a label this host lacks, which the store already offers) is not offered: no host
  could start it now.

And the other way round, :func:`startable_records` says which of the jobs free to claim this
host could start now (every constraint holding on its readings, within its free slots), so its
claims take only those.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, NamedTuple

from uidt.job.key import JobKey
from uidt.job.reasons import PendingReason
from uidt.job.work import JobWorkItem
from uidt.server.concurrency import limits_now
from uidt.server.evaluation import blocks_for, evaluate, satisfied_bits
from uidt.server.readiness import is_ready
from uidt.server.records import restored_earliest
from uidt.server.status import JobStatus
from uidt.store.record import JobRecord

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore


class OfferReason(Enum):
    """Why this host offers a job it holds to the other hosts (the log's words)."""

    NO_FREE_SLOT = "no free execution slot here"
    CONSTRAINT_UNMET_HERE = "a constraint unmet on this host's readings"


#: Pending reasons that come from this host's own readings: another host's may differ.
HOST_LOCAL_REASONS: frozenset[PendingReason] = frozenset(
    {
        PendingReason.CONSTRAINT_BATTERY_NOT_LOW,
        PendingReason.CONSTRAINT_CHARGING,
        PendingReason.CONSTRAINT_CONNECTIVITY,
        PendingReason.CONSTRAINT_STORAGE_NOT_LOW,
        PendingReason.DEVICE_STATE,  # power saver, heat (``Blocks.power_saver``, ``restricted``)
    }
)


def offer_reason(core: SchedulerCore, status: JobStatus) -> OfferReason | None:
    """Why ``status`` should be offered to the fleet now, or ``None`` (see the module doc)."""
    key = status.key
    if core.stopping or not status.job.persisted or core.run_table.get(key) is not None:
        return None  # stopping: every lease is given back anyway; volatile jobs never leave
    if key in core.dirty:
        evaluate(core, status)
    if status.ready:
        return OfferReason.NO_FREE_SLOT if key in core.pending else None
    reasons = set(status.pending_reasons)
    if reasons and reasons <= HOST_LOCAL_REASONS:
        return OfferReason.CONSTRAINT_UNMET_HERE
    return None


def jobs_to_offer(
    core: SchedulerCore, keys: Iterable[JobKey] | None = None
) -> dict[JobKey, OfferReason]:
    """The jobs among ``keys`` (default: every job) to offer, with the reason of each."""
    chosen = core.jobs.keys() if keys is None else keys
    found: dict[JobKey, OfferReason] = {}
    for key in list(chosen):
        status = core.jobs.get(key)
        if status is None:
            continue
        reason = offer_reason(core, status)
        if reason is not None:
            found[key] = reason
    return found


def free_slots(core: SchedulerCore) -> int:
    """Execution slots this host could fill now: the limit under the current memory pressure,
    less the runs and the jobs already queued for a slot (never below 0)."""
    if core.stopping:
        return 0
    total, _ = limits_now(core)
    return max(0, total - len(core.run_table) - len(core.pending))


class ClaimChoice(NamedTuple):
    """What :func:`startable_records` found among the jobs free to claim."""

    #: The ones to claim: this host could start them now (at most its free slots).
    take: list[JobKey]
    #: The ones looked at that this host could not start now whatever its slots (a constraint
    #: unmet on its readings, its app not installed here, a label it lacks ...).
    unfit: list[JobKey]


def startable_records(core: SchedulerCore, records: Sequence[JobRecord]) -> ClaimChoice:
    """Of the jobs free to claim (``records``, in claim order), the ones this host could start
    now: ready on its readings (constraints, app installed, labels, restrictions), at most its
    free slots; and the ones it could not. Nothing in the core changes."""
    room = free_slots(core)
    take: list[JobKey] = []
    unfit: list[JobKey] = []
    for record in records:
        if len(take) >= room:
            break
        if record.key in core.jobs:  # this host's own copy (an offer): not a claim's business
            continue
        status = JobStatus(
            key=record.key,
            job=record.job,
            enqueue_elapsed=core.now(),
            internal_flags=record.internal_flags,
            work=[JobWorkItem.from_dict(w) for w in record.work_items],
            earliest_run_elapsed=restored_earliest(core, record),
        )
        status.satisfied = satisfied_bits(core, status)
        (take if is_ready(status, blocks_for(core, status)) else unfit).append(record.key)
    return ClaimChoice(take, unfit)
