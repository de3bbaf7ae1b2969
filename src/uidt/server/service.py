"""``JobSchedulerService``: the scheduler core. Takes events, runs one check pass, returns actions.

Synchronous, no I/O, no real time: the daemon (the shell) feeds events and carries out the
:mod:`uidt.server.actions` it drains with :meth:`JobSchedulerService.take_actions`, and calls
:meth:`JobSchedulerService.tick` whenever ``clock.elapsed() >= next_wakeup()``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, overload

from uidt.clock import Clock
from uidt.device.state import DeviceState, NetworkState
from uidt.errors import InvalidJobError
from uidt.job.flags import INTERNAL_FLAG_DEMOTED_BY_USER
from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.job.reasons import InternalStopReason, StopReason
from uidt.job.validation import enforce_validity
from uidt.job.work import JobWorkItem
from uidt.server import admission
from uidt.server import events as ev
from uidt.server.actions import KillApp, NetworkChanged
from uidt.server.apps import AppInfo, Caller
from uidt.server.commands import CmdResult, ShellCommands
from uidt.server.context import Verb
from uidt.server.controllers.tracking import changed_readings
from uidt.server.core import SchedulerCore
from uidt.server.evaluation import changed_by_device
from uidt.server.eventrouting import route
from uidt.server.hosting import HostEvents
from uidt.server.identity import stored_generation
from uidt.server.notificationmanager import NotificationManagerService
from uidt.server.preview import admit
from uidt.server.queries import Queries
from uidt.server.records import restored_earliest
from uidt.server.status import DEMOTION_FLAGS, JobStatus
from uidt.settings import Settings
from uidt.store.record import JobRecord, NotificationRecord

RESULT_FAILURE = admission.RESULT_FAILURE
RESULT_SUCCESS = admission.RESULT_SUCCESS


class JobSchedulerService(SchedulerCore):
    """The whole UIDT policy as a deterministic state machine (see the module docstring).

    Args:
        clock: the time source (``FakeClock`` in tests).
        settings: the tunables.
        device: the device snapshot at start.
        installed_memory_bytes: the machine's RAM, for the default concurrency limit.
        apps: the installed apps.

    Three facets hold the rest: :attr:`host` (:class:`~uidt.server.hosting.HostEvents`: the facts
    the app workers report, reached through :meth:`handle`), :attr:`queries`
    (:class:`~uidt.server.queries.Queries`: pending jobs, reasons, ``jobs --json``, ``dumpsys``)
    and :attr:`commands` (:class:`~uidt.server.commands.ShellCommands`: ``cmd jobscheduler``).
    """

    def __init__(
        self,
        *,
        clock: Clock,
        settings: Settings,
        device: DeviceState,
        installed_memory_bytes: int,
        apps: Mapping[str, AppInfo] | None = None,
    ) -> None:
        super().__init__(
            clock=clock,
            settings=settings,
            device=device,
            installed_memory_bytes=installed_memory_bytes,
            apps=apps,
        )
        #: The read-only questions (``getPendingJob`` …, snapshots, ``dumpsys``).
        self.queries = Queries(self)
        #: The verbs of ``cmd jobscheduler`` (``uidt cmd``).
        self.commands = ShellCommands(self)
        #: The facts the app workers report (``on_start_job`` returned, ``job_finished`` …).
        self.host = HostEvents(self)
        #: The apps' own NotificationManager calls (``notify``, ``cancel``, channel checks).
        self.notification_manager = NotificationManagerService(self)

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
        return route(self, event)

    # -- app registry and visibility ------------------------------------------------------

    def set_app(self, info: AppInfo) -> None:
        """Install or update an app (grants and revocations take effect at once)."""
        self.registry.install(info)
        self.dirty.update(self.app_jobs.get(info.package, ()))
        self._maybe_check()

    def remove_app(self, package: str) -> None:
        """Uninstall: stop running jobs (USER / UNINSTALL) and drop every job of the app."""
        self.registry.uninstall(package)
        with self.batch():
            for key in list(self.app_jobs.get(package, {})):
                self.cancel_job(key, StopReason.USER, InternalStopReason.UNINSTALL)
            for action in self.notifications.remove_app(package):
                self.emit(action)

    def note_app_visible(self, app: str, visible: bool) -> None:
        """The app became visible (TOP) or stopped being visible; grace runs from the last visible."""
        if not self.registry.set_visible(app, visible, self.now()):
            return
        self.dirty.update(self.app_jobs.get(app, ()))
        self._maybe_check()

    def schedule(
        self,
        caller: Caller,
        namespace: str | None,
        job: JobInfo,
        work: JobWorkItem | None = None,
        generation: int = 0,
    ) -> int:
        """``schedule`` (or ``enqueue`` with ``work``): admission, then insert (docs/android-semantics.md#admission).

        ``generation``: the one reserved for this scheduling (``generations.reserve()``, when
        the daemon stored the job before handing it here); 0 draws the next one.

        Returns:
            ``RESULT_SUCCESS`` (1) or ``RESULT_FAILURE`` (0).

        Raises:
            InvalidJobError: invalid job, work item, namespace or service.
            JobPermissionError: RUN_USER_INITIATED_JOBS not declared for a user-initiated job.
            JobLimitError: the app already has more than ``max_jobs_per_app`` jobs.
        """
        key = admit(self, caller, namespace, job, work)
        if key is None:
            return RESULT_FAILURE
        existing = self.jobs.get(key)
        with self.batch():
            if existing is not None and work is not None and existing.job == job:
                existing.work.append(work)
                if job.is_user_initiated():
                    existing.internal_flags &= ~DEMOTION_FLAGS
                self.persist(existing)
                self.dirty.add(key)
                return RESULT_SUCCESS
            carried: list[JobWorkItem] = []
            if existing is not None:
                carried = list(existing.work)
                self.cancel_job(key, StopReason.CANCELLED_BY_APP, InternalStopReason.CANCELED)
            status = JobStatus(
                key=key, job=job, enqueue_elapsed=self.now(), work=carried, generation=generation
            )
            if work is not None:
                status.work.append(work)
            if job.min_latency_millis > 0:  # AOSP: earliest run time = enqueue + minimum latency
                status.earliest_run_elapsed = self.now() + job.min_latency_millis
                self.backoff.arm(key, status.earliest_run_elapsed)
            self._insert(status)
            self.record(status, "scheduled", "schedule")
            self.persist(status)
        return RESULT_SUCCESS

    def load(
        self,
        records: Iterable[JobRecord],
        notifications: Iterable[NotificationRecord] = (),
    ) -> None:
        """Restore persisted jobs at daemon start: zero failures; flags, cumulative time and the
        earliest run time (a backoff still to wait out) kept. Then the saved ``notifications``
        (:meth:`NotificationCoordinator.restore`: the detached ones come back, those of runs the
        old daemon's death cut are taken down)."""
        with self.batch():
            for action in self.notifications.restore(notifications):
                self.emit(action)
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
                    earliest_run_elapsed=restored_earliest(self, record),
                )
                if status.earliest_run_elapsed is not None:
                    self.backoff.arm(status.key, status.earliest_run_elapsed)
                self._insert(status)
                self.record(status, "loaded", "daemon start")

    # -- cancel ---------------------------------------------------------------------------

    def cancel(self, app: str, namespace: str | None, job_id: int) -> None:
        """``JobScheduler.cancel``: stop if running (CANCELLED_BY_APP) and drop."""
        with self.batch():
            self.cancel_job(
                JobKey(app, namespace, job_id),
                StopReason.CANCELLED_BY_APP,
                InternalStopReason.CANCELED,
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

    # -- the user ends an app's runs (docs/android-semantics.md#stop-paths; a kill for memory is ``host``'s) -------------

    def user_stop(self, app: str) -> None:
        """Task Manager Stop: kill the worker, drop user-visible jobs, demote the rest."""
        with self.batch():
            self.registry.stop_by_user(app)
            runs = self.run_table.of_app(app)
            for status in self.app_jobs.get(app, {}).values():
                status.internal_flags |= INTERNAL_FLAG_DEMOTED_BY_USER
                self.pending.discard(status.key)
                self.settle(status)
                self.record(status, "user-stopped", "Task Manager stop")
                self.persist(status)
                self.dirty.add(status.key)
            for ctx in runs:
                ctx.death_mark = (StopReason.USER, InternalStopReason.USER_UI_STOP)
            if self.run_table.is_bound(app) or self.run_table.is_binding(app) or runs:
                self.emit(KillApp(app, "user stop"))

    # -- updates of queued jobs (docs/android-semantics.md#beyond-android) ---------------------------------------------

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
        status = self.jobs.get(JobKey(app, namespace, job_id))
        if status is None:
            raise InvalidJobError(f"no job {job_id} in package {app}")
        job = dataclasses.replace(status.job, **changes)
        enforce_validity(job)
        with self.batch():
            status.job = job
            status.__post_init__()
            self.dependents.track(status)
            self.record(status, "updated", "constraints changed")
            self.persist(status)
            self.dirty.add(status.key)

    # -- device and check pass -----------------------------------------------------------

    def on_device_state(self, state: DeviceState) -> None:
        """A new device snapshot: the jobs that depend on a changed reading are re-evaluated.

        Which jobs depend on what is kept by :class:`~uidt.server.controllers.tracking.
        DeviceDependents`; a thermal or power-saver change concerns every job. An unchanged
        snapshot is ignored.
        """
        if state == self.device:
            return
        before = self.device.network
        readings, everyone = changed_readings(self.device, state)
        self.device = state
        if everyone:
            self.dirty.add_all()
        elif readings:
            changed = changed_by_device(self, self.dependents.concerned(readings), readings)
            if changed is None:
                self.dirty.add_all()  # most jobs changed: one sweep over all of them
            else:
                self.dirty.update(changed)
        self._maybe_check()
        if _network_identity(before) != _network_identity(state.network) and before is not None:
            self._tell_network_changed()

    def _tell_network_changed(self) -> None:
        """Running jobs still satisfied on the new network get ``on_network_changed``."""
        network = self.device.to_dict()["network"]
        if network is None:
            return
        for ctx in self.run_table:
            if ctx.verb is Verb.EXECUTING and ctx.status.job.required_network is not None:
                self.emit(NetworkChanged(ctx.run_id, ctx.status.key, network))


__all__ = ["RESULT_FAILURE", "RESULT_SUCCESS", "CmdResult", "JobSchedulerService"]


def _network_identity(network: NetworkState | None) -> tuple[str, int] | None:
    """Which network it is (not its changing capabilities such as metered)."""
    return None if network is None else (network.name, int(network.transport))
