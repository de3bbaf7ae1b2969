"""One view of the fleet: what a shared store tells about every host's jobs (docs/fleet.md).

A store shared by several hosts (PostgreSQL) implements :class:`FleetStore` besides
:class:`~uidt.store.base.LeasingJobStore`. It lets any host

* read every job in the store with the host holding its lease, whether that host said it runs
  it, and the newest stop request for it (:meth:`FleetStore.fleet_jobs`);
* stop a job another host holds: a :class:`StopRequest` row that whichever host holds the job
  picks up (:meth:`FleetStore.open_stop_requests`), carries out as its own Task Manager stop, and
  settles with an outcome (:meth:`FleetStore.settle_stop_requests`); a job nobody holds is
  claimed by the host that stops it (:meth:`FleetStore.claim_jobs`);
* tell which of its jobs run (:meth:`FleetStore.publish_running`, every heartbeat).

A store that has it offers it as its ``fleet`` attribute (:class:`HasFleet`); single-host
stores (memory, SQLite) do not: their daemon has no other hosts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from uidt.job.key import JobKey
from uidt.store.record import JobRecord, NotificationRecord


class StopOutcome(StrEnum):
    """What became of a stop request."""

    #: The holding host stopped the job, as its own Task Manager stop.
    STOPPED = "stopped"
    #: The job was scheduled anew since the request (a newer generation): left alone.
    STALE = "stale"
    #: The job had ended (or was removed) before any host could stop it.
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class StopRequest:
    """The Task Manager's Stop of one job, on its way to the host holding it."""

    request_id: int
    key: JobKey
    #: The scheduling of the job the user saw (the core's generation kept in the record).
    job_generation: int
    requested_by: str
    requested_utc_ms: int
    #: The host holding the job when the request was made (``None``: nobody held it).
    sent_to: str | None
    done_by: str | None = None
    done_utc_ms: int | None = None
    outcome: StopOutcome | None = None

    @property
    def done(self) -> bool:
        return self.outcome is not None


#: ``lease_expires_utc_ms`` of a job its holder offered to the other hosts while it was not
#: running (no free slot there, a constraint unmet on its readings; docs/fleet.md): free to
#: claim like a lease given back (``0``), and its offering host still shows it, waiting.
OFFERED_EXPIRY = -1


@dataclass(frozen=True, slots=True)
class FleetJob:
    """A job in the shared store, as the store knows it."""

    record: JobRecord
    #: The host named in the lease (``None``: free, nobody holds it).
    host: str | None
    #: :data:`OFFERED_EXPIRY` for a job offered by its host (free, ``host`` ``None``).
    lease_expires_utc_ms: int
    lease_generation: int
    #: The lease ran out (its host died, froze or lost the database) and nobody claimed it yet.
    expired: bool
    #: The holding host said, at its last heartbeat, that the job runs there.
    running: bool
    #: The notification the holding host shows for the job, if any.
    notification: NotificationRecord | None = None
    #: The newest stop request for the job (open or done), if any.
    stop_request: StopRequest | None = None


@dataclass(frozen=True, slots=True)
class FleetSnapshot:
    """Every job in the store and what the hosts last said, read in one transaction."""

    #: The store's "now" (the database server's clock), for the lease times.
    now_utc_ms: int
    jobs: list[FleetJob]
    #: Each host that told what it runs, with when it last did.
    hosts: dict[str, int] = field(default_factory=dict)
    #: The newest stop requests (open ones first, then done ones, newest first).
    stop_requests: list[StopRequest] = field(default_factory=list)


@runtime_checkable
class FleetStore(Protocol):
    """A store many hosts share, read and stopped as one fleet (see the module doc)."""

    host_id: str

    def fleet_jobs(self) -> FleetSnapshot:
        """Every persisted job of every host, with its lease, run and stop-request state."""
        ...

    def claim_jobs(self, keys: Sequence[JobKey]) -> list[JobRecord]:
        """Claim those of ``keys`` whose lease is free or expired; their records."""
        ...

    def request_stop(self, key: JobKey, job_generation: int) -> StopRequest:
        """Ask whichever host holds ``key`` to stop that scheduling of it."""
        ...

    def open_stop_requests(self) -> list[StopRequest]:
        """The open requests for jobs this host holds (requests for jobs gone are settled)."""
        ...

    def settle_stop_requests(self, outcomes: Sequence[tuple[int, StopOutcome]]) -> None:
        """Mark requests done by this host, with what became of each."""
        ...

    def publish_running(self, keys: Sequence[JobKey]) -> None:
        """Say which jobs run on this host now."""
        ...

    def release(self, keys: Sequence[JobKey]) -> None:
        """Give up the leases of these jobs (as :class:`~uidt.store.base.LeasingJobStore`)."""
        ...


@runtime_checkable
class HasFleet(Protocol):
    """A store shared by several hosts, with its :class:`FleetStore`."""

    fleet: FleetStore


#: How a settled stop request reads (``uidt jobs --fleet``, the Task Manager page).
_OUTCOME_WORDS = {
    StopOutcome.STOPPED.value: "stopped by {done_by}",
    StopOutcome.STALE.value: "stop not done by {done_by}: the job was scheduled anew since",
    StopOutcome.GONE.value: "stop not needed: the job had ended",
}


def stop_request_text(request: dict[str, Any]) -> str:
    """What became of a stop request (its JSON form), in words: sent (to whom), or its outcome.

    An open request never reads "stopped": only the host holding the job can say that.
    """
    outcome = request.get("outcome")
    if outcome is None:
        host = request.get("sent_to")
        return f"stop sent to {host}" if host else "stop waiting for the next host to claim it"
    words = _OUTCOME_WORDS.get(str(outcome), str(outcome))
    return words.format(done_by=request.get("done_by"))
