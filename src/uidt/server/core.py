"""``SchedulerCore``: the state of the scheduler and its one check pass.

The layers: :class:`SchedulerCore` (state, evaluation, check pass, runs, timers, records) ←
:class:`uidt.server.service.JobSchedulerService` (the public API), with its facets
:class:`~uidt.server.hosting.HostEvents` (callbacks from app workers), ``Queries`` and
``ShellCommands``. Helper modules
(:mod:`~uidt.server.evaluation`, :mod:`~uidt.server.concurrency`, :mod:`~uidt.server.outcome`,
:mod:`~uidt.server.timers`, :mod:`~uidt.server.commands`, :mod:`~uidt.server.snapshot`) are
functions over a core.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Set
from contextlib import contextmanager
from typing import Any

from uidt.clock import Clock, millis_from_utc
from uidt.device.state import DeviceState
from uidt.errors import IllegalTransitionError
from uidt.job.key import JobKey
from uidt.job.reasons import InternalStopReason, StopReason
from uidt.server import limits, snapshot
from uidt.server.actions import Action, JobStateChanged, PersistJob, RemoveJob
from uidt.server.apps import AppInfo
from uidt.server.commands import DeferredRuns
from uidt.server.concurrency import assign
from uidt.server.context import JobServiceContext, Verb
from uidt.server.controllers.tracking import DeviceDependents
from uidt.server.dirty import DirtyJobs
from uidt.server.evaluation import blocks_for, evaluate
from uidt.server.identity import Generations
from uidt.server.jobstate import JobState, check_transition, derive
from uidt.server.notifications import NotificationCoordinator
from uidt.server.pending import PendingQueue
from uidt.server.readiness import stop_reason_for
from uidt.server.records import job_record
from uidt.server.registry import AppRegistry
from uidt.server.runs import stop_run
from uidt.server.runtable import RunTable
from uidt.server.status import HistoryEntry, JobStatus
from uidt.server.timers import BackoffTimers, fire_timers
from uidt.settings import Settings


class SchedulerCore:
    """State, evaluation, the coalesced check pass, execution slots, timers and records.

    The state lives in parts that own their invariants: :class:`AppRegistry` (apps, visibility,
    user stops), :class:`PendingQueue`, :class:`RunTable` (runs and app workers),
    :class:`BackoffTimers`, :class:`DeferredRuns`, :class:`DeviceDependents` (which jobs a
    device reading concerns) and :class:`DirtyJobs` (which the next check pass re-evaluates). The core keeps the scheduled jobs and drives the check pass.
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
        self.clock = clock
        self.settings = settings
        self.device = device
        self.installed_memory_bytes = installed_memory_bytes
        self.steady_limit = limits.steady_concurrency_limit(
            installed_memory_bytes, settings.concurrency_limit
        )
        self.registry = AppRegistry(apps, visible_grace_ms=settings.visible_grace_ms)
        self.jobs: dict[JobKey, JobStatus] = {}
        self.app_jobs: dict[str, dict[JobKey, JobStatus]] = {}
        self.pending = PendingQueue()
        self.run_table = RunTable()
        self.backoff = BackoffTimers()
        self.deferred_runs = DeferredRuns()
        self.dependents = DeviceDependents()
        self.timeout_quota = limits.TimeoutQuota(
            settings.uij_timeout_quota_count, settings.uij_timeout_quota_window_ms
        )
        self.notifications = NotificationCoordinator()
        self.anrs: list[dict[str, Any]] = []
        self.ended: deque[dict[str, Any]] = deque(maxlen=100)
        self.dirty = DirtyJobs()
        self._actions: list[Action] = []
        #: The numbers of the schedulings (``JobStatus.generation``).
        self.generations = Generations()
        self._batch_depth = 0
        #: When a waiting UIJ reaches the max-wait bypass (set by the assignment).
        self.assign_wakeup: int | None = None
        #: The daemon is stopping (``commands.system_stopping``): the assignment
        #: starts nothing, so no job reads ``active`` that will not run. Never cleared: the next
        #: daemon starts with a new core.
        self.stopping = False

    # -- read-only views (queries, ``dumpsys`` and tests) -----------------------------------

    @property
    def apps(self) -> Mapping[str, AppInfo]:
        """The installed apps by package."""
        return self.registry.apps

    @property
    def running(self) -> Mapping[JobKey, JobServiceContext]:
        """The runs by job key."""
        return self.run_table.by_key

    @property
    def runs(self) -> Mapping[int, JobServiceContext]:
        """The runs by run id."""
        return self.run_table.by_id

    @property
    def binding(self) -> Set[str]:
        """Apps whose worker is being started."""
        return self.run_table.binding()

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
        """Run the check pass now unless a batch is open (it runs when the batch ends)."""
        if self._batch_depth == 0:
            self.check_pass()

    def _insert(self, status: JobStatus) -> None:
        """Add a new scheduling of a job (its generation assigned if it has none)."""
        status.generation = self.generations.assign(status.generation)
        self.jobs[status.key] = status
        self.app_jobs.setdefault(status.key.app, {})[status.key] = status
        self.dependents.track(status)
        self.dirty.add(status.key)

    def _remove(self, key: JobKey) -> JobStatus | None:
        status = self.jobs.pop(key, None)
        if status is None:
            return None
        app_jobs = self.app_jobs.get(key.app)
        if app_jobs is not None:
            app_jobs.pop(key, None)
            if not app_jobs:
                del self.app_jobs[key.app]
        self.pending.discard(key)
        self.dependents.untrack(key)
        self.dirty.discard(key)
        self.notifications.job_gone(key, take_down=False)
        self.emit(RemoveJob(key))
        return status

    def cancel_job(
        self,
        key: JobKey,
        reason: StopReason,
        internal: InternalStopReason,
        *,
        moved: bool = False,
    ) -> bool:
        """Drop a scheduled job as ``cancelled``, stopping its run if it has one.

        ``moved``: the job has not ended but left this host (another host holds its lease in a
        shared store, docs/fleet.md): it is forgotten here without a terminal state, so it reads
        neither cancelled, finished nor failed; its run is stopped all the same.
        """
        status = self.jobs.get(key)
        if status is None:
            return False
        ctx = self.run_table.get(key)
        if not moved:
            status.state = check_transition(status.state, JobState.CANCELLED)
        if ctx is None and not moved:
            # Cancelled between runs: the notification its last run left goes with it, and its
            # ended record does not keep that run's words ("retrying: …") either.
            for action in self.notifications.job_gone(key, take_down=True):
                self.emit(action)
            status.last_notification = None
        self._remove(key)
        status.last_stop_reason, status.last_internal_stop_reason = reason, internal
        if moved:
            self.record(status, "lease-lost", "another host holds the job now")
        else:
            self.record(status, JobState.CANCELLED.value, reason.name)
            self.ended.append(snapshot.ended_snapshot(self, status))
        if ctx is not None:
            ctx.cancelled = True
            stop_run(self, ctx, reason, internal)
        return True

    def settle(self, status: JobStatus) -> None:
        """Bring a scheduled job's state in line with its facts (running, queued, ready).

        Raises:
            IllegalTransitionError: the facts describe a move the transition table forbids.
        """
        # a replacement scheduled while the job it replaced still stops is not the one running
        running = self.run_table.runs_job(status)
        state = derive(running=running, queued=status.key in self.pending, ready=status.ready)
        status.state = check_transition(status.state, state)

    def end(self, status: JobStatus, state: JobState, reason: str) -> None:
        """A job leaves the scheduler in a terminal ``state``: history, ended record, removal.

        Raises:
            IllegalTransitionError: ``state`` is not terminal, or the job may not end that way.
        """
        if not state.terminal:
            raise IllegalTransitionError(f"{state.value} is not a state a job ends in")
        status.state = check_transition(status.state, state)
        if state is JobState.FAILED:
            status.failure = reason
        self.record(status, state.value, reason)
        self.ended.append(snapshot.ended_snapshot(self, status))
        self._remove(status.key)

    def check_pass(self) -> None:
        """Re-evaluate changed jobs, stop the no-longer-ready, start what may start."""
        everyone, dirty = self.dirty.take()
        if everyone:
            for status in list(self.jobs.values()):
                evaluate(self, status)
        else:
            for key in dirty:
                found = self.jobs.get(key)
                if found is not None:
                    evaluate(self, found)
        now = self.now()
        for ctx in self.run_table:
            status = ctx.status
            if ctx.cancelled or ctx.death_mark or ctx.verb in (Verb.STOPPING, Verb.FINISHED):
                continue
            if not status.ready:
                reason, internal = stop_reason_for(status, blocks_for(self, status))
                stop_run(self, ctx, reason, internal)
            elif (
                ctx.verb is Verb.EXECUTING
                and not ctx.within_guarantee(now)
                and self.device.power_saver
            ):
                stop_run(self, ctx, StopReason.DEVICE_STATE, InternalStopReason.TIMEOUT)
        assign(self)

    # -- timers ---------------------------------------------------------------------------

    def next_wakeup(self) -> int | None:
        """Elapsed ms of the next timer (timeouts, backoff expiry, guarantees, stalls, commands)."""
        times = [t for c in self.run_table if (t := c.deadline(self.settings)) is not None]
        backoff = self.backoff.next_due(self.jobs.__contains__)
        if backoff is not None:
            times.append(backoff)
        times += self.deferred_runs.deadlines()
        if self.assign_wakeup is not None:
            times.append(self.assign_wakeup)
        return min(times) if times else None

    def tick(self) -> None:
        """Fire every timer that is due, then run one check pass."""
        with self.batch():
            fire_timers(self)

    # -- records --------------------------------------------------------------------------

    def record(self, status: JobStatus, state: str, reason: str) -> None:
        """Append a state change to the job's history and tell the shell."""
        now = self.now()
        status.history.append(HistoryEntry(now, self.utc_ms(now), state, reason))
        self.emit(JobStateChanged(status.key, state, reason))

    def persist(self, status: JobStatus) -> None:
        """Write the job through to the store."""
        self.emit(PersistJob(job_record(self, status)))
