"""``FleetDesk``: this daemon's side of one view of the fleet (docs/fleet.md).

On a shared store (:class:`~uidt.store.fleet.FleetStore`, PostgreSQL) the daemon

* answers ``GET /v1/fleet/jobs`` (``uidt jobs --fleet``, the Task Manager's other hosts): every
  job in the store with the host holding its lease; the jobs this host holds are shown as
  ``uidt jobs`` shows them, the others as far as the store knows (running or waiting there, the
  lease expired, a stop sent);
* carries the Task Manager's Stop of an app to every host (:meth:`FleetDesk.stop_app`): the
  app's jobs nobody holds are claimed here and stopped with the local ones; for each job another
  host holds, a stop request goes through the store, naming the job's generation;
* on every lease tick (:meth:`FleetDesk.tick`) says which jobs run here and picks up the stop
  requests for jobs it holds (:func:`pick_up_stop_requests`), and picks them up at once when the
  store says a request was sent to it (:meth:`FleetDesk.stop_requested`, ``LISTEN/NOTIFY``,
  coalesced like claims): a request for the scheduling it holds is carried out exactly as a local Task
  Manager stop (the worker killed, no ``on_stop_job``, user-visible jobs dropped), and settled
  ``stopped`` only once the stop's writes are durable; one naming an older generation (the job
  was scheduled anew since) is settled ``stale`` and changes nothing.

Every store call runs on a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from uidt.clock import utc_from_millis
from uidt.errors import StoreError, UidtError
from uidt.job.key import JobKey
from uidt.redact import redact
from uidt.server.identity import stored_generation
from uidt.server.status import DEMOTION_FLAGS
from uidt.store.fleet import (
    OFFERED_EXPIRY,
    FleetJob,
    FleetSnapshot,
    FleetStore,
    StopOutcome,
    StopRequest,
)

if TYPE_CHECKING:
    from uidt.daemon.runtime import Runtime

log = logging.getLogger("uidt.daemon")

#: What ``GET /v1/fleet/jobs`` says on a store no other host shares.
NOT_SHARED = "this daemon's job store is not shared: no other hosts, only this host's jobs"


def _iso(utc_ms: int | None) -> str | None:
    return None if utc_ms is None else utc_from_millis(utc_ms).isoformat()


def _ident(key: JobKey) -> dict[str, Any]:
    return {"app": key.app, "namespace": key.namespace, "job_id": key.job_id}


def request_json(request: StopRequest) -> dict[str, Any]:
    """A stop request as the fleet view and ``uidt stop`` show it."""
    return {
        **_ident(request.key),
        "request_id": request.request_id,
        "generation": request.job_generation,
        "requested_by": request.requested_by,
        "requested": _iso(request.requested_utc_ms),
        "sent_to": request.sent_to,
        "done_by": request.done_by,
        "done": _iso(request.done_utc_ms),
        "outcome": None if request.outcome is None else request.outcome.value,
    }


def other_host_json(job: FleetJob, now_utc_ms: int) -> dict[str, Any]:
    """A job another host holds (or nobody), as far as the store knows it.

    Only what the record says about the job's identity and scheduling: never its extras (a URL
    with a password, request headers). The holder's notification is shown redacted.
    """
    record = job.record
    info = record.job
    if job.host is None and job.lease_expires_utc_ms == OFFERED_EXPIRY:
        lease, state = "offered", "offered by its host: waiting for a host that can start it"
    elif job.host is None:
        lease, state = "free", "waiting for a host"
    elif job.expired:
        lease, state = (
            "expired",
            f"lease expired {(now_utc_ms - job.lease_expires_utc_ms) // 1000} s ago",
        )
    else:
        lease = "held"
        state = "running" if job.running else "waiting"
    last = record.history[-1] if record.history else None
    note = None
    if job.notification is not None:
        shown = job.notification.notification
        note = {
            name: redact(value) if isinstance(value, str) else value
            for name, value in shown.items()
            if name in ("title", "text", "progress")
        }
    return {
        **_ident(record.key),
        "generation": stored_generation(record),
        "service": info.service,
        "host": job.host,
        "this_host": False,
        "lease": lease,
        "lease_expires": _iso(job.lease_expires_utc_ms) if job.host is not None else None,
        "lease_generation": job.lease_generation,
        "state": state,
        "user_initiated": info.user_initiated and not record.internal_flags & DEMOTION_FLAGS,
        "last_change": None
        if last is None
        else {
            "time": _iso(last.get("time")),
            "state": last.get("state"),
            "reason": last.get("reason"),
        },
        "notification": note,
        "stop_request": None if job.stop_request is None else request_json(job.stop_request),
    }


def fleet_view(
    host_id: str, local: list[dict[str, Any]], snapshot: FleetSnapshot
) -> dict[str, Any]:
    """The answer of ``GET /v1/fleet/jobs``: this host's jobs as ``uidt jobs``, then the rest."""
    mine = {(j["app"], j["namespace"], j["job_id"]) for j in local}
    jobs = [{**j, "host": host_id, "this_host": True} for j in local]
    for job in snapshot.jobs:
        key = job.record.key
        if (key.app, key.namespace, key.job_id) not in mine:
            jobs.append(other_host_json(job, snapshot.now_utc_ms))
    return {
        "fleet": True,
        "host_id": host_id,
        "hosts": {host: _iso(seen) for host, seen in sorted(snapshot.hosts.items())},
        "jobs": jobs,
        "stop_requests": [request_json(r) for r in snapshot.stop_requests],
    }


def local_view(local: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer of ``GET /v1/fleet/jobs`` on a store no other host shares."""
    return {
        "fleet": False,
        "message": NOT_SHARED,
        "host_id": None,
        "hosts": {},
        "jobs": [{**j, "host": None, "this_host": True} for j in local],
        "stop_requests": [],
    }


def stop_outcomes(
    requests: Sequence[StopRequest], generation_of: Callable[[JobKey], int | None]
) -> tuple[list[tuple[int, StopOutcome]], list[str]]:
    """What to do with the requests for jobs this host holds: the outcome of each and the apps
    to stop. ``generation_of`` gives the generation of the job this host's core has (``None``:
    it does not know the job)."""
    outcomes: list[tuple[int, StopOutcome]] = []
    apps: list[str] = []
    for request in requests:
        generation = generation_of(request.key)
        if generation is None:
            outcome = StopOutcome.GONE
        elif generation != request.job_generation:
            outcome = StopOutcome.STALE  # scheduled anew since the user asked
        else:
            outcome = StopOutcome.STOPPED
            if request.key.app not in apps:
                apps.append(request.key.app)
        outcomes.append((request.request_id, outcome))
    return outcomes, apps


async def pick_up_stop_requests(runtime: Runtime, store: FleetStore) -> list[StopRequest]:
    """Carry out the stop requests for jobs this host holds; the requests handled.

    One small step the lease tick calls, and that a wake-up (LISTEN/NOTIFY) may call too.
    """
    try:
        requests = await asyncio.to_thread(store.open_stop_requests)
    except StoreError as exc:
        log.warning("reading stop requests failed: %s", exc)
        return []
    if not requests:
        return []
    jobs = runtime.service.jobs

    def generation_of(key: JobKey) -> int | None:
        status = jobs.get(key)
        return None if status is None else status.generation

    outcomes, apps = stop_outcomes(requests, generation_of)
    for request, (_, outcome) in zip(requests, outcomes, strict=True):
        log.info(
            "stop request %d from %s for job %s (generation %d): %s",
            request.request_id,
            request.requested_by,
            request.key,
            request.job_generation,
            outcome.value,
        )
    failed: set[str] = set()
    for app in apps:
        try:
            runtime.user_stop(app)
        except UidtError as exc:
            log.warning("could not stop %s for a request from another host: %s", app, exc)
            failed.add(app)
    settled = [
        (
            rid,
            StopOutcome.GONE if outcome is StopOutcome.STOPPED and r.key.app in failed else outcome,
        )
        for r, (rid, outcome) in zip(requests, outcomes, strict=True)
    ]
    await runtime.store.sync()  # "stopped" only once the stop's own writes are durable
    try:
        await asyncio.to_thread(store.settle_stop_requests, settled)
    except StoreError as exc:  # settled at the next tick: the jobs are gone or stale by then
        log.warning("settling stop requests failed: %s", exc)
    return requests


class FleetDesk:
    """One daemon's fleet view and stops across hosts (see the module doc).

    Args:
        runtime: the daemon's runtime.
        store: the shared store's fleet; ``None`` on a store no other host shares (the view
            and the Stop are then this host's alone).
    """

    def __init__(self, runtime: Runtime, store: FleetStore | None) -> None:
        self.runtime = runtime
        self.store = store
        #: The other hosts' jobs as last read (every tick, every view): what the Task Manager
        #: page shows without reading the store on the event loop.
        self.latest: dict[str, Any] | None = (
            None if store is None else {"host_id": store.host_id, "jobs": []}
        )
        #: Pick-ups of stop requests made (every tick's and every notification's; tests).
        self.pick_ups = 0
        self._picking: asyncio.Task[None] | None = None
        self._pick_again = False

    def stop_requested(self, host: str = "") -> None:
        """A stop request was written somewhere (``LISTEN/NOTIFY``; ``host``: the one holding
        the job when it was sent, ``""`` when nobody or unknown): pick requests up now, unless it
        was sent to another host. The holder may have changed since (the job moved): that host's
        next tick picks it up, as before."""
        if self.store is None or (host and host != self.store.host_id):
            return
        self.pick_up_now()

    def pick_up_now(self) -> asyncio.Task[None]:
        """Pick stop requests up, coalesced as claims are: while one pick-up is under way, any
        number of calls make exactly one more after it. The task that covers this call."""
        if self._picking is not None and not self._picking.done():
            self._pick_again = True
            return self._picking
        self._picking = asyncio.get_running_loop().create_task(self._pick_until_quiet())
        return self._picking

    async def _pick_until_quiet(self) -> None:
        assert self.store is not None
        while True:
            self._pick_again = False
            self.pick_ups += 1
            try:
                await pick_up_stop_requests(self.runtime, self.store)
            except Exception:  # the next notification or tick tries again
                log.exception("picking up stop requests failed")
            if not self._pick_again:
                return

    def others(self) -> dict[str, Any] | None:
        """``{"host_id", "jobs"}``: the other hosts' jobs as last read; ``None`` off a shared
        store (the Task Manager page's Other hosts)."""
        return self.latest

    async def view(self) -> dict[str, Any]:
        """Every job of the fleet (``GET /v1/fleet/jobs``); this host's alone off a shared store."""
        local = self.runtime.jobs_snapshot(None, include_finished=False)
        if self.store is None:
            return local_view(local)
        snapshot = await asyncio.to_thread(self.store.fleet_jobs)
        local = self.runtime.jobs_snapshot(None, include_finished=False)  # after the await
        view = fleet_view(self.store.host_id, local, snapshot)
        self.latest = {
            "host_id": self.store.host_id,
            "jobs": [j for j in view["jobs"] if not j["this_host"]],
        }
        return view

    async def tick(self) -> None:
        """Say which jobs run here, then carry out the stop requests for jobs held here."""
        if self.store is None:
            return
        running = sorted((ctx.status.key for ctx in self.runtime.service.running.values()), key=str)
        try:
            await asyncio.to_thread(self.store.publish_running, running)
        except StoreError as exc:
            log.warning("telling the store what runs here failed: %s", exc)
        await self.pick_up_now()  # through the gate a notification's pick-up takes too
        try:
            await self.view()  # the page's copy of the other hosts' jobs
        except StoreError as exc:
            log.warning("reading the fleet's jobs failed: %s", exc)

    async def stop_app(self, app: str) -> dict[str, Any]:
        """The Task Manager's Stop of ``app`` on every host.

        Here: claim the app's jobs nobody holds, then stop the app as a local Task Manager stop
        (its jobs here and the claimed ones). Each job another host holds gets a stop request
        naming its generation; the answer lists them (``sent``: ``sent_to`` is the host holding
        the job when it was sent), not as stopped: only their host can say that. When the store
        cannot be reached the local stop is still done, and ``unreached`` says why the other
        hosts were not (or not all) told.
        """
        if self.store is None:
            return {"stopped": self.runtime.user_stop(app), "claimed": [], "sent": []}
        self.runtime.apps.require(app)
        taken: list[JobKey] = []
        sent: list[dict[str, Any]] = []
        unreached: str | None = None
        try:
            await self._reach_other_hosts(app, taken, sent)
        except StoreError as exc:
            unreached = f"the stop of {app} did not reach every other host: {exc}"
            log.warning("%s", unreached)
        stopped = self.runtime.user_stop(app)
        if sent:
            with contextlib.suppress(StoreError):
                await self.view()  # the page shows the stops sent at once
        answer: dict[str, Any] = {
            "stopped": stopped,
            "claimed": [_ident(k) for k in sorted(taken, key=str)],
            "sent": sent,
        }
        if unreached is not None:
            answer["unreached"] = unreached
        return answer

    async def _reach_other_hosts(
        self, app: str, taken: list[JobKey], sent: list[dict[str, Any]]
    ) -> None:
        """Claim ``app``'s jobs nobody holds into ``taken`` and send a stop request for each
        job another host holds into ``sent``.

        Raises:
            StoreError: the store cannot be reached (what was done so far is in the lists).
        """
        assert self.store is not None
        snapshot = await asyncio.to_thread(self.store.fleet_jobs)
        local = {key for key in self.runtime.service.jobs if key.app == app}
        others = [j for j in snapshot.jobs if j.record.key.app == app and j.record.key not in local]
        free = [j.record.key for j in others if j.host is None or j.expired]
        claimed = await asyncio.to_thread(self.store.claim_jobs, free) if free else []
        refused = self.runtime.adopt(claimed)
        taken += [r.key for r in claimed if r.key not in refused]
        if refused:
            await asyncio.to_thread(self.store.release, refused)
        for job in others:
            key = job.record.key
            if key in taken:
                continue
            request = await asyncio.to_thread(
                self.store.request_stop, key, stored_generation(job.record)
            )
            log.info(
                "stop of job %s sent to %s", key, request.sent_to or "the next host to claim it"
            )
            sent.append(request_json(request))
