"""``Queries``: the read-only questions asked of the core (``service.queries``).

``JobScheduler``'s pending-job getters (Android's ``getPendingJob``, ``getAllPendingJobs``,
``getPendingJobReasons`` …), the ``uidt jobs --json`` objects and ``uidt dumpsys --json``. Apart
from the core so that its public surface stays the events and requests that change it; nothing
here changes a job, except that a job whose facts changed since the last check pass is
re-evaluated before its reasons are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.job.reasons import PendingReason
from uidt.server import snapshot
from uidt.server.evaluation import evaluate
from uidt.server.fleetoffer import (
    ClaimChoice,
    OfferReason,
    free_slots,
    jobs_to_offer,
    startable_records,
)
from uidt.server.status import JobStatus, key_order
from uidt.store.record import JobRecord

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore


class Queries:
    """Read-only views of one core (see the module docstring)."""

    def __init__(self, core: SchedulerCore) -> None:
        self._core = core

    def find(self, app: str, namespace: str | None, job_id: int) -> JobStatus | None:
        """The scheduled job with this identity (pending or running), if any."""
        return self._core.jobs.get(JobKey(app, namespace, job_id))

    def can_run_user_initiated_jobs(self, app: str) -> bool:
        """``canRunUserInitiatedJobs``: the app declares RUN_USER_INITIATED_JOBS and the user did
        not revoke it."""
        return self._core.registry.can_run_user_initiated_jobs(app)

    def get_pending_job(self, app: str, namespace: str | None, job_id: int) -> JobInfo | None:
        """The job (pending or running), or ``None``."""
        status = self.find(app, namespace, job_id)
        return None if status is None else status.job

    def get_all_pending_jobs(self, app: str, namespace: str | None) -> list[JobInfo]:
        """The app's jobs in one namespace, running ones included."""
        jobs = self._core.app_jobs.get(app, {})
        return [jobs[k].job for k in sorted(jobs, key=key_order) if k.namespace == namespace]

    def get_pending_jobs_in_all_namespaces(self, app: str) -> dict[str | None, list[JobInfo]]:
        """The app's jobs by namespace (the default namespace's key is ``None``)."""
        result: dict[str | None, list[JobInfo]] = {}
        jobs = self._core.app_jobs.get(app, {})
        for key in sorted(jobs, key=key_order):
            result.setdefault(key.namespace, []).append(jobs[key].job)
        return result

    def get_pending_job_reasons(
        self, app: str, namespace: str | None, job_id: int
    ) -> list[PendingReason]:
        """Why the job is not running, most important first (``[INVALID_JOB_ID]`` if unknown)."""
        status = self.find(app, namespace, job_id)
        if status is None:
            return [PendingReason.INVALID_JOB_ID]
        if status.key in self._core.dirty:
            evaluate(self._core, status)
        return list(status.pending_reasons) or [PendingReason.UNDEFINED]

    def get_pending_job_reason(self, app: str, namespace: str | None, job_id: int) -> PendingReason:
        """The first pending reason."""
        return self.get_pending_job_reasons(app, namespace, job_id)[0]

    def get_pending_job_reasons_history(
        self, app: str, namespace: str | None, job_id: int
    ) -> list[tuple[int, list[PendingReason]]]:
        """The last ≤ ``HISTORY_SIZE`` changes of the pending reasons: ``(utc_ms, reasons)``, oldest first."""
        status = self.find(app, namespace, job_id)
        if status is None:
            return []
        return [(utc, list(reasons)) for utc, reasons in status.reasons_history]

    def get_bytes_history(self, app: str, namespace: str | None, job_id: int) -> list[list[int]]:
        """A scheduled job's bytes done over time, ``[[utc_ms, bytes], …]`` (bounded samples)."""
        status = self.find(app, namespace, job_id)
        return [] if status is None else status.byte_samples.to_json()

    def fleet_offers(self, keys: Iterable[JobKey] | None = None) -> dict[JobKey, OfferReason]:
        """The jobs among ``keys`` (default: all) this host cannot start now for a reason
        another host might not share, with that reason (:mod:`uidt.server.fleetoffer`)."""
        return jobs_to_offer(self._core, keys)

    def free_slots(self) -> int:
        """Execution slots this host could fill now (what a shared store's claim may take)."""
        return free_slots(self._core)

    def startable(self, records: Sequence[JobRecord]) -> ClaimChoice:
        """Of the jobs free to claim, the ones this host could start now, within its free
        slots (what a shared store's claim takes), and the ones it could not."""
        return startable_records(self._core, records)

    def jobs_snapshot(
        self, app: str | None = None, *, include_ended: bool = False, job_id: int | None = None
    ) -> list[dict[str, Any]]:
        """The objects of ``uidt jobs --json``; with ``include_ended`` (``--all``) also the last
        100 jobs that finished, were cancelled or user-stopped, oldest first, after the rest;
        with ``job_id`` only the records of jobs with that id (what a follower asks for)."""
        return snapshot.jobs_snapshot(self._core, app, include_ended=include_ended, job_id=job_id)

    def dump(self) -> dict[str, Any]:
        """``uidt dumpsys --json``."""
        return snapshot.dump(self._core)
