"""``JobSchedulerService``: the scheduler core. Takes events, runs one check pass, returns actions.

Synchronous, no I/O, no real time: the daemon (the shell) feeds events and carries out the
:mod:`uidt.server.actions` it drains with :meth:`JobSchedulerService.take_actions`, and calls
:meth:`JobSchedulerService.tick` whenever ``clock.elapsed() >= next_wakeup()``.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from uidt.clock import Clock, millis_from_utc
from uidt.device.state import DeviceState
from uidt.errors import InvalidJobError, JobLimitError
from uidt.job.info import JobInfo
from uidt.job.notification import EndPolicy, Notification
from uidt.job.params import JobParameters
from uidt.job.reasons import InternalStopReason, PendingReason, StopReason
from uidt.job.validation import enforce_validity
from uidt.job.work import JobWorkItem
from uidt.server import admission, limits, snapshot
from uidt.server.actions import (
    Action,
    BindApp,
    JobStateChanged,
    KillApp,
    PersistJob,
    RecordAnr,
    RemoveJob,
    StartJob,
    StopJob,
    UnbindApp,
)
from uidt.server.apps import RUN_USER_INITIATED_JOBS, START_FROM_BACKGROUND, AppInfo, Caller
from uidt.server.commands import (
    CmdResult,
    check_pending_command,
    cmd_cancel,
    cmd_get_bytes,
    cmd_get_job_state,
    cmd_run,
    cmd_stop,
    cmd_timeout,
)
from uidt.server.context import JobServiceContext, Verb
from uidt.server.controllers import battery_bits, connectivity_satisfied, storage_bits
from uidt.server.controllers.connectivity import estimated_transfer_ms
from uidt.server.notifications import NotificationCoordinator
from uidt.server.readiness import Blocks, is_ready, pending_reasons, stop_reason_for
from uidt.server.restrictions import thermally_restricted
from uidt.server.status import DEMOTION_FLAGS, Bit, HistoryEntry, JobStatus, key_order
from uidt.settings import Settings
from uidt.store.record import (
    INTERNAL_FLAG_DEMOTED_BY_USER,
    JobKey,
    JobRecord,
)

RESULT_FAILURE = admission.RESULT_FAILURE
RESULT_SUCCESS = admission.RESULT_SUCCESS


class JobSchedulerService:
    """The whole UIDT policy as a deterministic state machine (see the module docstring)."""

    def __init__(
        self,
        *,
        clock: Clock,
        settings: Settings,
        device: DeviceState,
        installed_memory_bytes: int,
        apps: Mapping[str, AppInfo] | None = None,
    ) -> None:
        self.clock = clock
        self.settings = settings
        self.device = device
        self.installed_memory_bytes = installed_memory_bytes
        self.steady_limit = limits.steady_concurrency_limit(
            installed_memory_bytes, settings.concurrency_limit
        )
        self.apps: dict[str, AppInfo] = dict(apps or {})
        self.jobs: dict[JobKey, JobStatus] = {}
        self.app_jobs: dict[str, dict[JobKey, JobStatus]] = {}
        #: Ready jobs waiting for a slot (the pending queue), and its user-initiated part.
        self.queue: set[JobKey] = set()
        self.uij_queue: set[JobKey] = set()
        self.running: dict[JobKey, JobServiceContext] = {}
        self.runs: dict[int, JobServiceContext] = {}
        self.bound: set[str] = set()
        self.binding: set[str] = set()
        self.visible: set[str] = set()
        self.last_visible: dict[str, int] = {}
        self.user_stopped: set[str] = set()
        self.timeout_quota = limits.TimeoutQuota(
            settings.uij_timeout_quota_count, settings.uij_timeout_quota_window_ms
        )
        self.notifications = NotificationCoordinator()
        self.anrs: list[dict[str, Any]] = []
        self.ended: deque[dict[str, Any]] = deque(maxlen=100)
        self.pending_commands: dict[int, tuple[JobKey, int]] = {}
        self._delays: list[tuple[int, int, JobKey]] = []
        self._dirty: set[JobKey] = set()
        self._all_dirty = False
        self._actions: list[Action] = []
        self._next_run_id = 1
        self._next_token = 1
        self._seq = 0
        self._batch_depth = 0
        #: When a waiting UIJ reaches the max-wait bypass (set by the assignment).
        self.assign_wakeup: int | None = None

    # -- plumbing -------------------------------------------------------------------------

    def now(self) -> int:
        """Elapsed milliseconds now."""
        return self.clock.elapsed()

    def utc_ms(self, elapsed: int | None = None) -> int:
        """Wall-clock milliseconds of an elapsed reading (default now)."""
        base = millis_from_utc(self.clock.utc())
        return base if elapsed is None else base + elapsed - self.clock.elapsed()

    def emit(self, action: Action) -> None:
        """Queue an action for the shell."""
        self._actions.append(action)

    def take_actions(self) -> list[Action]:
        """Drain the actions queued since the last call."""
        actions, self._actions = self._actions, []
        return actions

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Coalesce several events into one check pass (run when the outermost batch ends)."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            self._maybe_check()

    def _maybe_check(self) -> None:
        if self._batch_depth == 0:
            self.check_pass()

    def mark_dirty(self, key: JobKey | None = None) -> None:
        """Ask the next check pass to re-evaluate one job (or every job)."""
        if key is None:
            self._all_dirty = True
        else:
            self._dirty.add(key)

    def find(self, app: str, namespace: str | None, job_id: int) -> JobStatus | None:
        """The job with this identity, if scheduled."""
        return self.jobs.get(JobKey(app, namespace, job_id))

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
        now = self.now()
        if visible:
            self.visible.add(app)
            self.user_stopped.discard(app)
        elif app in self.visible:
            self.visible.discard(app)
        self.last_visible[app] = now
        for key in self.app_jobs.get(app, {}):
            self.mark_dirty(key)
        self._maybe_check()

    def is_visible(self, app: str) -> bool:
        """The app is visible (TOP) right now."""
        return app in self.visible

    def has_bal_privilege(self, app: str) -> bool:
        """Visible, or within the visible grace period (transient background-start privilege)."""
        if app in self.visible:
            return True
        last = self.last_visible.get(app)
        return last is not None and self.now() - last <= self.settings.visible_grace_ms

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

    def can_run_user_initiated_jobs(self, app: str) -> bool:
        """The app declares RUN_USER_INITIATED_JOBS and the user did not revoke it."""
        info = self.apps.get(app)
        return info is not None and info.holds(RUN_USER_INITIATED_JOBS)

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
        if caller.visible:
            self.last_visible[caller.app] = self.now()
            self.user_stopped.discard(caller.app)
        if not admission.validate_job(app, job, work):
            return RESULT_FAILURE
        if job.is_user_initiated() and not self.may_schedule_uij(caller):
            return RESULT_FAILURE
        namespace = admission.validate_namespace(namespace)
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

    def _insert(self, status: JobStatus) -> None:
        self.jobs[status.key] = status
        self.app_jobs.setdefault(status.key.app, {})[status.key] = status
        self.mark_dirty(status.key)

    def _remove(self, key: JobKey) -> JobStatus | None:
        status = self.jobs.pop(key, None)
        if status is None:
            return None
        app_jobs = self.app_jobs.get(key.app)
        if app_jobs is not None:
            app_jobs.pop(key, None)
            if not app_jobs:
                del self.app_jobs[key.app]
        self.dequeue(key)
        self._dirty.discard(key)
        self.emit(RemoveJob(key))
        return status

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

    def _cancel_key(
        self, key: JobKey, reason: StopReason, internal: InternalStopReason, state: str
    ) -> bool:
        status = self.jobs.get(key)
        if status is None:
            return False
        ctx = self.running.get(key)
        self._remove(key)
        status.last_stop_reason, status.last_internal_stop_reason = reason, internal
        self.record(status, "cancelled", reason.name)
        self.ended.append(self.snapshot_of(status, "cancelled"))
        if ctx is not None:
            ctx.cancelled = True
            self.stop_run(ctx, reason, internal)
        return True

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
        """A new device snapshot: every job is re-evaluated."""
        self.device = state
        self.mark_dirty()
        self._maybe_check()

    def blocks_for(self, status: JobStatus) -> Blocks:
        """The implicit reasons that hold ``status`` back now."""
        app = status.key.app
        info = self.apps.get(app)
        ctx = self.running.get(status.key)
        within = ctx is not None and ctx.within_guarantee(self.now())
        return Blocks(
            app_missing=info is None or status.job.service not in info.services,
            user_stopped=app in self.user_stopped,
            power_saver=self.device.power_saver and not status.treated_as_uij,
            restricted=thermally_restricted(
                status,
                self.device.thermal,
                app_visible=app in self.visible,
                running_within_guarantee=within,
            ),
        )

    def max_runtime_for(self, status: JobStatus) -> int:
        """The maximum runtime a run of this job would get now."""
        return limits.max_runtime_ms(
            self.settings,
            treated_as_uij=status.treated_as_uij,
            uij_ok=self.can_run_user_initiated_jobs(status.key.app),
            in_quota=self.timeout_quota.in_quota(status.key.app, self.now()),
        )

    def evaluate(self, status: JobStatus) -> None:
        """Controllers set the job's bits; readiness and pending reasons follow."""
        device = self.device
        now = self.now()
        bits = battery_bits(status, device, app_visible=status.key.app in self.visible)
        bits |= storage_bits(device)
        if connectivity_satisfied(
            status,
            device.network,
            max_execution_ms=self.max_runtime_for(status),
            charging=device.charging,
        ):
            bits |= Bit.CONNECTIVITY
        if status.earliest_run_elapsed is None or now >= status.earliest_run_elapsed:
            bits |= Bit.TIMING_DELAY
        status.satisfied = bits
        blocks = self.blocks_for(status)
        status.restricted = blocks.restricted
        status.ready = is_ready(status, blocks)
        running = status.key in self.running
        if not running:
            if status.ready:
                self.enqueue(status, now)
            else:
                self.dequeue(status.key)
                status.pending_since = None
        self.set_reasons(
            status, pending_reasons(status, blocks, running=running, queued=status.ready)
        )
        check_pending_command(self, status)

    def enqueue(self, status: JobStatus, now: int) -> None:
        """Put a ready job on the pending queue (or keep it there, re-filed by its UIJ status)."""
        key = status.key
        if key not in self.queue:
            self.queue.add(key)
            status.pending_since = now
        if status.treated_as_uij:
            self.uij_queue.add(key)
        else:
            self.uij_queue.discard(key)

    def dequeue(self, key: JobKey) -> None:
        """Take a job off the pending queue."""
        self.queue.discard(key)
        self.uij_queue.discard(key)

    def set_reasons(self, status: JobStatus, reasons: tuple[PendingReason, ...]) -> None:
        """Record new pending reasons; changes within the same instant are coalesced."""
        if reasons == status.pending_reasons:
            return
        status.pending_reasons = reasons
        utc = self.utc_ms()
        history = status.reasons_history
        if history and history[-1][0] == utc:
            history.pop()
        if not history or history[-1][1] != reasons:
            history.append((utc, reasons))

    def check_pass(self) -> None:
        """Re-evaluate changed jobs, stop the no-longer-ready, start what may start."""
        if self._all_dirty:
            self._all_dirty = False
            self._dirty.clear()
            for status in list(self.jobs.values()):
                self.evaluate(status)
        elif self._dirty:
            dirty, self._dirty = self._dirty, set()
            for key in dirty:
                found = self.jobs.get(key)
                if found is not None:
                    self.evaluate(found)
        now = self.now()
        for ctx in list(self.running.values()):
            status = ctx.status
            if ctx.cancelled or ctx.death_mark or ctx.verb in (Verb.STOPPING, Verb.FINISHED):
                continue
            if not status.ready:
                reason, internal = stop_reason_for(status, self.blocks_for(status))
                self.stop_run(ctx, reason, internal)
            elif (
                ctx.verb is Verb.EXECUTING
                and not ctx.within_guarantee(now)
                and self.device.power_saver
            ):
                self.stop_run(ctx, StopReason.DEVICE_STATE, InternalStopReason.TIMEOUT)
        from uidt.server.concurrency import assign

        assign(self)

    # -- runs -----------------------------------------------------------------------------

    def start_run(self, status: JobStatus) -> JobServiceContext:
        """Give the job an execution slot: bind the app if needed, else send ``on_start_job``."""
        now = self.now()
        app = status.key.app
        uij_ok = self.can_run_user_initiated_jobs(app)
        in_quota = self.timeout_quota.in_quota(app, now)
        guarantee = limits.min_guarantee_ms(
            self.settings,
            treated_as_uij=status.treated_as_uij,
            uij_ok=uij_ok,
            in_quota=in_quota,
            has_network=status.job.required_network is not None,
            transfer_ms=estimated_transfer_ms(status, self.device.network),
        )
        ctx = JobServiceContext(
            run_id=self._next_run_id,
            status=status,
            verb=Verb.BINDING,
            verb_since=now,
            user_visible=status.treated_as_uij,
            min_guarantee_ms=guarantee,
            max_runtime_ms=self.max_runtime_for(status),
            estimated_download_bytes=status.estimated_bytes()[0],
            estimated_upload_bytes=status.estimated_bytes()[1],
        )
        self._next_run_id += 1
        self.dequeue(status.key)
        status.pending_since = None
        self.running[status.key] = ctx
        self.runs[ctx.run_id] = ctx
        self.set_reasons(status, (PendingReason.EXECUTING,))
        self.record(status, "active", "started")
        if app in self.bound:
            self._send_start(ctx)
        elif app not in self.binding:
            self.binding.add(app)
            self.emit(BindApp(app))
        return ctx

    def _send_start(self, ctx: JobServiceContext) -> None:
        status = ctx.status
        ctx.verb, ctx.verb_since = Verb.STARTING, self.now()
        network = self.device.network
        params = JobParameters(
            job_id=status.key.job_id,
            namespace=status.key.namespace,
            extras=status.job.extras,
            transient_extras=status.job.transient_extras,
            network=(
                self.device.to_dict()["network"]
                if status.job.required_network is not None and network is not None
                else None
            ),
            user_initiated=ctx.user_visible,
            expedited=status.job.expedited,
            run_id=ctx.run_id,
        )
        self.emit(StartJob(ctx.run_id, status.key, status.job.service, params, tuple(status.work)))

    def stop_run(
        self,
        ctx: JobServiceContext,
        reason: StopReason,
        internal: InternalStopReason,
        *,
        force_reschedule: bool = False,
        counts_as_timeout: bool = True,
    ) -> None:
        """Stop a run with reasons; what happens depends on its verb (reference §3.2 item 11)."""
        ctx.force_reschedule = ctx.force_reschedule or force_reschedule
        ctx.counts_as_timeout = counts_as_timeout
        if ctx.verb is Verb.BINDING:
            ctx.stop_reason, ctx.internal_reason = reason, internal
            self.close_run(ctx, reschedule=False, requeue=not ctx.cancelled)
        elif ctx.verb is Verb.STARTING:
            ctx.deferred_stop = (reason, internal)
        elif ctx.verb is Verb.EXECUTING:
            ctx.verb, ctx.verb_since = Verb.STOPPING, self.now()
            ctx.stop_reason, ctx.internal_reason = reason, internal
            ctx.status.last_stop_reason = reason
            ctx.status.last_internal_stop_reason = internal
            self.emit(StopJob(ctx.run_id, ctx.status.key, reason, internal))

    def close_run(self, ctx: JobServiceContext, *, reschedule: bool, requeue: bool = False) -> None:
        """End a run: notification policy, timeout quota, then drop or reschedule the job."""
        from uidt.server.outcome import finish_run

        finish_run(self, ctx, reschedule=reschedule, requeue=requeue)

    # -- events from the hosting layer -------------------------------------------------------

    def on_bound(self, app: str) -> None:
        """The app's worker process is up: start its runs waiting in BINDING."""
        self.binding.discard(app)
        self.bound.add(app)
        for ctx in list(self.running.values()):
            if ctx.app == app and ctx.verb is Verb.BINDING:
                self._send_start(ctx)
        self._maybe_check()

    def on_bind_failed(self, app: str) -> None:
        """The worker could not be started: its runs end as system stops and are rescheduled."""
        self.binding.discard(app)
        with self.batch():
            for ctx in list(self.running.values()):
                if ctx.app == app and ctx.verb is Verb.BINDING:
                    ctx.stop_reason, ctx.internal_reason = (
                        StopReason.UNDEFINED,
                        InternalStopReason.UNKNOWN,
                    )
                    self.close_run(ctx, reschedule=not ctx.cancelled)

    def on_start_job_result(self, run_id: int, wants_to_run: bool) -> None:
        """``on_start_job`` returned: EXECUTING, or finished at once when it returned ``False``."""
        ctx = self.runs.get(run_id)
        if ctx is None or ctx.verb is not Verb.STARTING:
            return
        with self.batch():
            if not wants_to_run:
                ctx.stop_reason = StopReason.UNDEFINED
                ctx.internal_reason = InternalStopReason.SUCCESSFUL_FINISH
                self.close_run(ctx, reschedule=False)
                return
            now = self.now()
            ctx.verb, ctx.verb_since = Verb.EXECUTING, now
            ctx.execution_start = now
            ctx.last_progress = now
            ctx.awaiting_notification = ctx.user_visible
            self.record(ctx.status, "executing", "on_start_job returned true")
            if ctx.cancelled:
                ctx.deferred_stop = (StopReason.CANCELLED_BY_APP, InternalStopReason.CANCELED)
            if ctx.deferred_stop is not None:
                reason, internal = ctx.deferred_stop
                self.stop_run(ctx, reason, internal)

    def on_stop_job_result(self, run_id: int, wants_reschedule: bool) -> None:
        """``on_stop_job`` returned the app's reschedule wish."""
        ctx = self.runs.get(run_id)
        if ctx is None or ctx.verb is not Verb.STOPPING:
            return
        with self.batch():
            self.close_run(ctx, reschedule=wants_reschedule or ctx.force_reschedule)

    def on_job_finished(self, run_id: int, wants_reschedule: bool) -> None:
        """``job_finished``: SUCCESSFUL_FINISH; while stopping, the stop's reasons are kept."""
        ctx = self.runs.get(run_id)
        if ctx is None:
            return
        with self.batch():
            if ctx.verb is not Verb.STOPPING:
                ctx.stop_reason = StopReason.UNDEFINED
                ctx.internal_reason = InternalStopReason.SUCCESSFUL_FINISH
            self.close_run(ctx, reschedule=wants_reschedule or ctx.force_reschedule)

    def on_set_notification(
        self,
        run_id: int,
        notification_id: int,
        notification: Notification,
        end_policy: EndPolicy | int,
    ) -> None:
        """``set_notification`` from a running job.

        Raises:
            InvalidJobError: undeclared channel or bad end policy (delivered to the app).
        """
        ctx = self.runs.get(run_id)
        if ctx is None or ctx.verb in (Verb.BINDING, Verb.FINISHED):
            return
        info = self.apps.get(ctx.app)
        channels = info.channels if info is not None else frozenset()
        for action in self.notifications.set_notification(
            ctx, notification_id, notification, end_policy, channels, self.utc_ms()
        ):
            self.emit(action)

    def on_update_estimated_bytes(self, run_id: int, download: int, upload: int) -> None:
        """``update_estimated_network_bytes``: replaces the running estimate."""
        ctx = self.runs.get(run_id)
        if ctx is not None:
            ctx.estimated_download_bytes, ctx.estimated_upload_bytes = download, upload

    def on_update_transferred_bytes(self, run_id: int, download: int, upload: int) -> None:
        """``update_transferred_network_bytes``: replaces the counters; progress feeds the watchdog."""
        ctx = self.runs.get(run_id)
        if ctx is None:
            return
        moved = (download, upload) != (ctx.transferred_download_bytes, ctx.transferred_upload_bytes)
        if moved or not ctx.bytes_reported:
            ctx.last_progress = self.now()
        ctx.transferred_download_bytes, ctx.transferred_upload_bytes = download, upload
        ctx.bytes_reported = True

    def on_process_died(self, app: str) -> None:
        """The worker died (EOF / waitpid): every run of the app ends, rescheduled unless marked."""
        self.bound.discard(app)
        self.binding.discard(app)
        with self.batch():
            for ctx in [c for c in self.running.values() if c.app == app]:
                if ctx.death_mark is not None:
                    ctx.stop_reason, ctx.internal_reason = ctx.death_mark
                elif ctx.verb is not Verb.STOPPING:
                    ctx.stop_reason, ctx.internal_reason = (
                        StopReason.UNDEFINED,
                        InternalStopReason.UNKNOWN,
                    )
                self.close_run(ctx, reschedule=True)

    def user_stop(self, app: str) -> None:
        """Task Manager Stop: kill the worker, drop user-visible jobs, demote the rest."""
        with self.batch():
            self.user_stopped.add(app)
            runs = [c for c in self.running.values() if c.app == app]
            for status in self.app_jobs.get(app, {}).values():
                status.internal_flags |= INTERNAL_FLAG_DEMOTED_BY_USER
                self.dequeue(status.key)
                self.record(status, "user-stopped", "Task Manager stop")
                self.persist(status)
                self.mark_dirty(status.key)
            for ctx in runs:
                ctx.death_mark = (StopReason.USER, InternalStopReason.USER_UI_STOP)
            if app in self.bound or app in self.binding or runs:
                self.emit(KillApp(app, "user stop"))

    def low_memory_kill(self, app: str) -> None:
        """Kill an app's worker for memory; its runs are rescheduled as system stops."""
        for ctx in self.running.values():
            if ctx.app == app:
                ctx.death_mark = (StopReason.UNDEFINED, InternalStopReason.UNKNOWN)
        self.emit(KillApp(app, "low memory"))

    # -- timers ---------------------------------------------------------------------------

    def push_delay(self, status: JobStatus) -> None:
        """Arm the backoff timer of a job."""
        if status.earliest_run_elapsed is not None:
            self._seq += 1
            heapq.heappush(self._delays, (status.earliest_run_elapsed, self._seq, status.key))

    def next_wakeup(self) -> int | None:
        """Elapsed ms of the next timer (timeouts, backoff expiry, guarantees, stalls, commands)."""
        times = [t for c in self.running.values() if (t := c.deadline(self.settings)) is not None]
        while self._delays and self.jobs.get(self._delays[0][2]) is None:
            heapq.heappop(self._delays)
        if self._delays:
            times.append(self._delays[0][0])
        times += [deadline for _, deadline in self.pending_commands.values()]
        if self.assign_wakeup is not None:
            times.append(self.assign_wakeup)
        return min(times) if times else None

    def tick(self) -> None:
        """Fire every timer that is due, then run one check pass."""
        from uidt.server.timers import fire_timers

        with self.batch():
            fire_timers(self)

    # -- records --------------------------------------------------------------------------

    def record(self, status: JobStatus, state: str, reason: str) -> None:
        """Append a state change to the job's history and tell the shell."""
        now = self.now()
        status.state = state
        status.history.append(HistoryEntry(now, self.utc_ms(now), state, reason))
        self.emit(JobStateChanged(status.key, state, reason))

    def persist(self, status: JobStatus) -> None:
        """Write the job through to the store."""
        self.emit(PersistJob(self.record_of(status)))

    def record_of(self, status: JobStatus) -> JobRecord:
        """The store record of a job."""
        return JobRecord(
            key=status.key,
            job=status.job,
            enqueue_time_utc_ms=self.utc_ms(status.enqueue_elapsed),
            num_failures=status.num_failures,
            num_system_stops=status.num_system_stops,
            cumulative_runtime_ms=status.cumulative_runtime_ms,
            internal_flags=status.internal_flags,
            earliest_run_time_utc_ms=(
                None
                if status.earliest_run_elapsed is None
                else self.utc_ms(status.earliest_run_elapsed)
            ),
            last_stop_reason=status.last_stop_reason,
            last_internal_stop_reason=status.last_internal_stop_reason,
            last_successful_run_utc_ms=status.last_successful_run_utc_ms,
            last_failed_run_utc_ms=status.last_failed_run_utc_ms,
            history=[
                {"time": h.utc_ms, "state": h.state, "reason": h.reason} for h in status.history
            ],
            work_items=[w.to_dict() for w in status.work],
        )

    def record_anr(self, ctx: JobServiceContext, reason: str) -> None:
        """Keep an ANR and tell the shell."""
        utc = self.utc_ms()
        key = ctx.status.key
        self.anrs.append({"app": key.app, "job_id": key.job_id, "reason": reason, "time": utc})
        self.emit(RecordAnr(key.app, key, reason, utc))

    def unbind_if_idle(self, app: str) -> None:
        """Tell the shell when an app has no run left."""
        if app in self.bound and not any(c.app == app for c in self.running.values()):
            self.emit(UnbindApp(app))

    def snapshot_of(self, status: JobStatus, state: str | None = None) -> dict[str, Any]:
        """One object of ``uidt jobs --json``."""
        return snapshot.job_snapshot(self, status, state)

    def new_token(self) -> int:
        """A fresh token for a deferred shell command."""
        token = self._next_token
        self._next_token += 1
        return token

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
            self.evaluate(status)
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

    def jobs_snapshot(self, app: str | None = None) -> list[dict[str, Any]]:
        """The objects of ``uidt jobs --json``."""
        return snapshot.jobs_snapshot(self, app)

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


__all__ = ["RESULT_FAILURE", "RESULT_SUCCESS", "CmdResult", "JobSchedulerService"]
