"""``JobSchedulerService``: the scheduler core. Takes events, runs one check pass, returns actions.

Synchronous, no I/O, no real time: the daemon (the shell) feeds events and carries out the
:mod:`uidt.server.actions` it drains with :meth:`JobSchedulerService.take_actions`, and calls
:meth:`JobSchedulerService.tick` whenever ``clock.elapsed() >= next_wakeup()``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, overload

from uidt.device.state import DeviceState, NetworkState
from uidt.errors import InvalidJobError, JobLimitError
from uidt.job.info import JobInfo
from uidt.job.namespace import validate_namespace
from uidt.job.reasons import InternalStopReason, PendingReason, StopReason
from uidt.job.validation import enforce_validity
from uidt.job.work import JobWorkItem
from uidt.server import admission, snapshot
from uidt.server import events as ev
from uidt.server.actions import NetworkChanged
from uidt.server.apps import START_FROM_BACKGROUND, AppInfo, Caller
from uidt.server.commands import (
    CmdResult,
    cmd_cancel,
    cmd_get_bytes,
    cmd_get_job_state,
    cmd_run,
    cmd_stop,
    cmd_timeout,
)
from uidt.server.context import Verb
from uidt.server.evaluation import evaluate
from uidt.server.hosting import HostEvents
from uidt.server.identity import stored_generation
from uidt.server.status import DEMOTION_FLAGS, JobStatus, key_order
from uidt.store.record import (
    JobKey,
    JobRecord,
)

RESULT_FAILURE = admission.RESULT_FAILURE
RESULT_SUCCESS = admission.RESULT_SUCCESS


class JobSchedulerService(HostEvents):
    """The whole UIDT policy as a deterministic state machine (see the module docstring).

    Args:
        clock: the time source (``FakeClock`` in tests).
        settings: the tunables.
        device: the device snapshot at start.
        installed_memory_bytes: the machine's RAM, for the default concurrency limit.
        apps: the installed apps.
    """

    # -- the one entry for events as values (uidt.server.events) ------------------------------

    @overload
    def handle(self, event: ev.Schedule) -> int: ...
    @overload
    def handle(self, event: ev.CoreEvent) -> None: ...
    def handle(self, event: ev.CoreEvent | ev.Schedule) -> int | None:
        """Take one event (a host fact, a device change, a request); see :mod:`uidt.server.events`.

        Returns:
            ``schedule``'s result for a :class:`~uidt.server.events.Schedule`, else ``None``.
        """
        return ev.handle(self, event)

    # -- app registry and visibility ------------------------------------------------------

    def set_app(self, info: AppInfo) -> None:
        """Install or update an app (grants and revocations take effect at once)."""
        self.apps[info.package] = info
        for key in self.app_jobs.get(info.package, {}):
            self.mark_dirty(key)
        self._maybe_check()

    def remove_app(self, package: str) -> None:
        """Uninstall: stop running jobs (USER / UNINSTALL) and drop every job of the app."""
        self.apps.pop(package, None)
        with self.batch():
            for key in list(self.app_jobs.get(package, {})):
                self._cancel_key(key, StopReason.USER, InternalStopReason.UNINSTALL, "uninstalled")
            for action in self.notifications.remove_app(package):
                self.emit(action)

    def note_app_visible(self, app: str, visible: bool) -> None:
        """The app became visible (TOP) or stopped being visible; grace runs from the last visible."""
        if visible:
            self.visible.add(app)
            self.user_stopped.discard(app)
        elif app in self.visible:
            self.visible.discard(app)
        else:
            return
        self.last_visible[app] = self.now()
        for key in self.app_jobs.get(app, {}):
            self.mark_dirty(key)
        self._maybe_check()

    def may_schedule_uij(self, caller: Caller) -> bool:
        """The app is in a state to schedule user-initiated jobs (reference §2.1, semantics §1)."""
        app = self.apps.get(caller.app)
        granted = app is not None and START_FROM_BACKGROUND in app.granted
        return (
            caller.visible
            or caller.interaction_grant
            or granted
            or self.has_bal_privilege(caller.app)
        )

    # -- admission ------------------------------------------------------------------------

    def schedule(
        self,
        caller: Caller,
        namespace: str | None,
        job: JobInfo,
        work: JobWorkItem | None = None,
    ) -> int:
        """``schedule`` (or ``enqueue`` with ``work``): admission, then insert (reference §2).

        Returns:
            ``RESULT_SUCCESS`` (1) or ``RESULT_FAILURE`` (0).

        Raises:
            InvalidJobError: invalid job, work item, namespace or service.
            JobPermissionError: RUN_USER_INITIATED_JOBS not declared for a user-initiated job.
            JobLimitError: the app already has more than ``max_jobs_per_app`` jobs.
        """
        app = admission.enforce_valid_job_request(self.apps.get(caller.app), caller.app, job)
        if caller.visible or caller.interaction_grant:
            # visible now, or a click grant: a transient background-start privilege (§7.2)
            self.last_visible[caller.app] = self.now()
            self.user_stopped.discard(caller.app)
        if not admission.validate_job(app, job, work):
            return RESULT_FAILURE
        if job.is_user_initiated() and not self.may_schedule_uij(caller):
            return RESULT_FAILURE
        namespace = validate_namespace(namespace)
        key = JobKey(caller.app, namespace, job.job_id)
        existing = self.jobs.get(key)
        with self.batch():
            if existing is not None and work is not None and existing.job == job:
                existing.work.append(work)
                if job.is_user_initiated():
                    existing.internal_flags &= ~DEMOTION_FLAGS
                self.persist(existing)
                self.mark_dirty(key)
                return RESULT_SUCCESS
            count = len(self.app_jobs.get(caller.app, {})) - (1 if existing else 0)
            if count > self.settings.max_jobs_per_app:
                raise JobLimitError(
                    f"Apps may not schedule more than {self.settings.max_jobs_per_app} distinct jobs"
                )
            carried: list[JobWorkItem] = []
            if existing is not None:
                carried = list(existing.work)
                self._cancel_key(
                    key, StopReason.CANCELLED_BY_APP, InternalStopReason.CANCELED, "replaced"
                )
            status = JobStatus(key=key, job=job, enqueue_elapsed=self.now(), work=carried)
            if work is not None:
                status.work.append(work)
            self._insert(status)
            self.record(status, "scheduled", "schedule")
            self.persist(status)
        return RESULT_SUCCESS

    def load(self, records: Iterable[JobRecord]) -> None:
        """Restore persisted jobs at daemon start: zero failures, flags and cumulative time kept."""
        with self.batch():
            for record in records:
                if record.key in self.jobs:
                    continue
                status = JobStatus(
                    key=record.key,
                    job=record.job,
                    enqueue_elapsed=self.now(),
                    cumulative_runtime_ms=record.cumulative_runtime_ms,
                    internal_flags=record.internal_flags,
                    last_stop_reason=record.last_stop_reason,
                    last_internal_stop_reason=record.last_internal_stop_reason,
                    last_successful_run_utc_ms=record.last_successful_run_utc_ms,
                    last_failed_run_utc_ms=record.last_failed_run_utc_ms,
                    work=[JobWorkItem.from_dict(w) for w in record.work_items],
                    generation=stored_generation(record),
                )
                self._insert(status)
                self.record(status, "loaded", "daemon start")

    # -- cancel ---------------------------------------------------------------------------

    def cancel(self, app: str, namespace: str | None, job_id: int) -> None:
        """``JobScheduler.cancel``: stop if running (CANCELLED_BY_APP) and drop."""
        with self.batch():
            self._cancel_key(
                JobKey(app, namespace, job_id),
                StopReason.CANCELLED_BY_APP,
                InternalStopReason.CANCELED,
                "cancelled",
            )

    def cancel_all(self, app: str, namespace: str | None) -> None:
        """``cancelAll``: every job of the app in one namespace."""
        with self.batch():
            for key in [k for k in self.app_jobs.get(app, {}) if k.namespace == namespace]:
                self.cancel(app, namespace, key.job_id)

    def cancel_in_all_namespaces(self, app: str) -> None:
        """``cancelInAllNamespaces``: every job of the app."""
        with self.batch():
            for key in list(self.app_jobs.get(app, {})):
                self.cancel(app, key.namespace, key.job_id)

    # -- updates of queued jobs (semantics §3) ---------------------------------------------

    def update_constraints(
        self, app: str, namespace: str | None, job_id: int, **changes: Any
    ) -> None:
        """Change a scheduled job's constraints, keeping its counters, work and transfer state.

        Accepted keys: ``required_network``, ``requires_charging``, ``requires_battery_not_low``,
        ``requires_storage_not_low``, ``estimated_network_download_bytes``,
        ``estimated_network_upload_bytes``, ``minimum_network_chunk_bytes``.

        Raises:
            InvalidJobError: no such job, an unknown key, or the changed job breaks a rule.
        """
        allowed = {
            "required_network",
            "requires_charging",
            "requires_battery_not_low",
            "requires_storage_not_low",
            "estimated_network_download_bytes",
            "estimated_network_upload_bytes",
            "minimum_network_chunk_bytes",
        }
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidJobError(f"cannot update {', '.join(sorted(unknown))}")
        status = self.find(app, namespace, job_id)
        if status is None:
            raise InvalidJobError(f"no job {job_id} in package {app}")
        job = dataclasses.replace(status.job, **changes)
        enforce_validity(job)
        with self.batch():
            status.job = job
            status.__post_init__()
            self.record(status, "updated", "constraints changed")
            self.persist(status)
            self.mark_dirty(status.key)

    # -- device and check pass -----------------------------------------------------------

    def on_device_state(self, state: DeviceState) -> None:
        """A new device snapshot: every job is re-evaluated (an unchanged snapshot is ignored)."""
        if state == self.device:
            return
        before = self.device.network
        self.device = state
        self.mark_dirty()
        self._maybe_check()
        if _network_identity(before) != _network_identity(state.network) and before is not None:
            self._tell_network_changed()

    def _tell_network_changed(self) -> None:
        """Running jobs still satisfied on the new network get ``on_network_changed`` (§8.3)."""
        network = self.device.to_dict()["network"]
        if network is None:
            return
        for ctx in list(self.running.values()):
            if ctx.verb is Verb.EXECUTING and ctx.status.job.required_network is not None:
                self.emit(NetworkChanged(ctx.run_id, ctx.status.key, network))

    # -- queries ----------------------------------------------------------------------------

    def get_pending_job(self, app: str, namespace: str | None, job_id: int) -> JobInfo | None:
        """The job (pending or running), or ``None``."""
        status = self.find(app, namespace, job_id)
        return None if status is None else status.job

    def get_all_pending_jobs(self, app: str, namespace: str | None) -> list[JobInfo]:
        """The app's jobs in one namespace, running ones included."""
        jobs = self.app_jobs.get(app, {})
        return [jobs[k].job for k in sorted(jobs, key=key_order) if k.namespace == namespace]

    def get_pending_jobs_in_all_namespaces(self, app: str) -> dict[str | None, list[JobInfo]]:
        """The app's jobs by namespace (the default namespace's key is ``None``)."""
        result: dict[str | None, list[JobInfo]] = {}
        jobs = self.app_jobs.get(app, {})
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
        if status.key in self._dirty or self._all_dirty:
            evaluate(self, status)
        return list(status.pending_reasons) or [PendingReason.UNDEFINED]

    def get_pending_job_reason(self, app: str, namespace: str | None, job_id: int) -> PendingReason:
        """The first pending reason."""
        return self.get_pending_job_reasons(app, namespace, job_id)[0]

    def get_pending_job_reasons_history(
        self, app: str, namespace: str | None, job_id: int
    ) -> list[tuple[int, list[PendingReason]]]:
        """The last ≤ 10 changes of the pending reasons: ``(utc_ms, reasons)``, oldest first."""
        status = self.find(app, namespace, job_id)
        if status is None:
            return []
        return [(utc, list(reasons)) for utc, reasons in status.reasons_history]

    def jobs_snapshot(
        self, app: str | None = None, *, include_ended: bool = False
    ) -> list[dict[str, Any]]:
        """The objects of ``uidt jobs --json``; with ``include_ended`` (``--all``) also the last
        100 jobs that finished, were cancelled or user-stopped, oldest first, after the rest."""
        return snapshot.jobs_snapshot(self, app, include_ended=include_ended)

    def dump(self) -> dict[str, Any]:
        """``uidt dumpsys --json``."""
        return snapshot.dump(self)

    # -- shell verbs (reference §10) ----------------------------------------------------------

    def cmd_run(
        self,
        app: str,
        namespace: str | None,
        job_id: int,
        *,
        force: bool = False,
        satisfied: bool = False,
    ) -> CmdResult:
        """``cmd run [-f|-s]`` (may be deferred; see :mod:`uidt.server.commands`)."""
        return cmd_run(self, app, namespace, job_id, force=force, satisfied=satisfied)

    def cmd_stop(
        self,
        app: str | None = None,
        namespace: str | None = None,
        job_id: int | None = None,
        *,
        stop_reason: int = StopReason.USER,
        internal_reason: int = InternalStopReason.UNKNOWN,
    ) -> CmdResult:
        """``cmd stop [-s R] [-i IR]``."""
        return cmd_stop(
            self,
            app,
            namespace,
            job_id,
            stop_reason=stop_reason,
            internal_reason=internal_reason,
        )

    def cmd_timeout(
        self, app: str | None = None, namespace: str | None = None, job_id: int | None = None
    ) -> CmdResult:
        """``cmd timeout``."""
        return cmd_timeout(self, app, namespace, job_id)

    def cmd_cancel(
        self, app: str, namespace: str | None = None, job_id: int | None = None
    ) -> CmdResult:
        """``cmd cancel``."""
        return cmd_cancel(self, app, namespace, job_id)

    def cmd_get_job_state(self, app: str, namespace: str | None, job_id: int) -> CmdResult:
        """``cmd get-job-state``."""
        return cmd_get_job_state(self, app, namespace, job_id)

    def cmd_get_estimated_download_bytes(
        self, app: str, namespace: str | None, job_id: int
    ) -> CmdResult:
        """``cmd get-estimated-download-bytes``."""
        return cmd_get_bytes(self, app, namespace, job_id, kind="estimated-download")

    def cmd_get_estimated_upload_bytes(
        self, app: str, namespace: str | None, job_id: int
    ) -> CmdResult:
        """``cmd get-estimated-upload-bytes``."""
        return cmd_get_bytes(self, app, namespace, job_id, kind="estimated-upload")

    def cmd_get_transferred_download_bytes(
        self, app: str, namespace: str | None, job_id: int
    ) -> CmdResult:
        """``cmd get-transferred-download-bytes``."""
        return cmd_get_bytes(self, app, namespace, job_id, kind="transferred-download")

    def cmd_get_transferred_upload_bytes(
        self, app: str, namespace: str | None, job_id: int
    ) -> CmdResult:
        """``cmd get-transferred-upload-bytes``."""
        return cmd_get_bytes(self, app, namespace, job_id, kind="transferred-upload")

    def get_battery_charging(self) -> CmdResult:
        """``cmd get-battery-charging``."""
        return CmdResult(0, str(self.device.charging).lower())

    def get_battery_not_low(self) -> CmdResult:
        """``cmd get-battery-not-low``."""
        return CmdResult(0, str(self.device.battery_not_low).lower())

    def get_storage_not_low(self) -> CmdResult:
        """``cmd get-storage-not-low``."""
        return CmdResult(0, str(not self.device.storage_low).lower())

    def cmd_reset_execution_quota(self, app: str) -> CmdResult:
        """``cmd reset-execution-quota PKG``: forget the app's UIJ timeouts."""
        self.timeout_quota.reset(app)
        return CmdResult(0)


__all__ = ["RESULT_FAILURE", "RESULT_SUCCESS", "CmdResult", "JobSchedulerService"]


def _network_identity(network: NetworkState | None) -> tuple[str, int] | None:
    """Which network it is (not its changing capabilities such as metered)."""
    return None if network is None else (network.name, int(network.transport))
