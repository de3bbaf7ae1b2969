"""The simulated apps: they answer the core's actions as each job's behaviour model says.

The same part the test kit's :class:`uidt.testing.InProcessApps` plays (bind, answer
``on_start_job``, post the notification, answer ``on_stop_job``, die when killed), plus what a
simulation needs: bytes moving at the job's throughput, a finish when they are all done, and
crashes (every run after a while, or by chance drawn from the seed). Every answer goes to the core
as an event value (:mod:`uidt.server.events`), as the daemon hands the app host's facts to it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from uidt.job.key import JobKey
from uidt.job.notification import EndPolicy, Notification
from uidt.job.reasons import InternalStopReason, StopReason
from uidt.server import events as ev
from uidt.server.actions import Action, BindApp, KillApp, StartJob, StopJob
from uidt.server.service import JobSchedulerService
from uidt.sim.scenario import StopAnswer
from uidt.sim.trace import JobTrace, Stop, StopKind

#: The channel the simulated apps post their notifications on.
CHANNEL = "transfers"


@dataclass
class _Run:
    run_id: int
    key: JobKey
    started_ms: int
    done_at_start: float
    #: When this run's next own event is due, and which (``"finish"`` or ``"crash"``).
    due_ms: int | None
    due: str
    transferring: bool = True


class AppPlayer:
    """Plays every app of a scenario against the core.

    Args:
        core: the scheduler core.
        traces: the job traces by key (the player records runs, stops and bytes in them).
        rng: the seeded source of chance (crash probability).
        now: the simulation time in ms (the player reads it, never sets it).
    """

    def __init__(
        self,
        core: JobSchedulerService,
        traces: dict[JobKey, JobTrace],
        rng: random.Random,
        now: Callable[[], int],
    ) -> None:
        self.core = core
        self.traces = traces
        self.rng = rng
        self.now = now
        self.runs: dict[int, _Run] = {}
        self.done: dict[JobKey, float] = {}
        #: Every ``StopJob`` the core asked for, in order (for the cross-check with the test kit).
        self.scheduler_stops: list[tuple[int, str, StopReason, InternalStopReason]] = []

    # -- the core's actions -------------------------------------------------------------------

    def __call__(self, action: Action) -> None:
        match action:
            case BindApp(app=app):
                self.core.handle(ev.Bound(app))
            case StartJob(run_id=run_id, key=key, params=params):
                self._start(run_id, key, params.is_user_initiated_job())
            case StopJob(run_id=run_id, key=key, stop_reason=reason, internal_reason=internal):
                self._stop(run_id, key, reason, internal)
            case KillApp(app=app):
                self._kill(app)
            case _:
                pass

    def _start(self, run_id: int, key: JobKey, user_initiated: bool) -> None:
        trace = self.traces[key]
        behaviour = trace.spec.behaviour
        now = self.now()
        done = self.done.get(key, 0.0) if behaviour.resumes else 0.0
        self.done[key] = done
        left_ms = math.ceil((trace.spec.total_bytes - done) / behaviour.throughput * 1000)
        run = _Run(run_id, key, now, done, now + left_ms, "finish")
        if behaviour.crash_after_ms is not None and behaviour.crash_after_ms < left_ms:
            run.due_ms, run.due = now + behaviour.crash_after_ms, "crash"
        if behaviour.crash_probability > 0 and self.rng.random() < behaviour.crash_probability:
            at = now + math.floor(self.rng.uniform(0, left_ms))
            if run.due_ms is None or at < run.due_ms:
                run.due_ms, run.due = at, "crash"
        self.runs[run_id] = run
        trace.runs += 1
        trace.progress.append((now, int(done)))
        self.core.handle(ev.StartResult(key.app, run_id, True))
        if user_initiated:
            self.core.handle(
                ev.NotificationSet(
                    key.app,
                    run_id,
                    key.job_id,
                    Notification(CHANNEL, f"job {key.job_id}"),
                    EndPolicy.DETACH,
                )
            )

    def _stop(
        self, run_id: int, key: JobKey, reason: StopReason, internal: InternalStopReason
    ) -> None:
        now = self.now()
        self.scheduler_stops.append((now, self.traces[key].spec.name, reason, internal))
        run = self.runs.get(run_id)
        if run is None:
            return
        self._pause(run, now)
        self.traces[key].stops.append(Stop(now, StopKind.STOPPED, reason, internal))
        answer = self.traces[key].spec.behaviour.on_stop
        if answer is StopAnswer.IGNORE:
            return  # it keeps its process and never answers: the core's timeout kills it
        del self.runs[run_id]
        self._report_bytes(run)
        self.core.handle(ev.StopResult(key.app, run_id, answer is StopAnswer.RESCHEDULE))

    def _kill(self, app: str) -> None:
        now = self.now()
        for run in [r for r in self.runs.values() if r.key.app == app]:
            del self.runs[run.run_id]
            stopping = not run.transferring
            self._pause(run, now)
            self._report_bytes(run)
            if not stopping:
                ctx = self.core.run_table.run(run.run_id)
                mark = ctx.death_mark if ctx is not None else None
                reason, internal = mark or (StopReason.UNDEFINED, InternalStopReason.UNKNOWN)
                self.traces[run.key].stops.append(Stop(now, StopKind.KILLED, reason, internal))
        self.core.handle(ev.ProcessDied(app, -9))

    # -- the apps' own events ---------------------------------------------------------------

    def next_due(self) -> int | None:
        """When the next run finishes or crashes (``None``: nothing is due)."""
        times = [r.due_ms for r in self.runs.values() if r.transferring and r.due_ms is not None]
        return min(times) if times else None

    def fire_due(self) -> None:
        """Finish or crash every run that is due now (in run order)."""
        now = self.now()
        for run in sorted(self.runs.values(), key=lambda r: r.run_id):
            if run.run_id not in self.runs or not run.transferring or run.due_ms != now:
                continue
            if run.due == "finish":
                del self.runs[run.run_id]
                self._pause(run, now)
                self._report_bytes(run)
                self.traces[run.key].completed = True
                self.core.handle(ev.Finished(run.key.app, run.run_id, False))
            else:
                self._crash(run, now)

    def _crash(self, run: _Run, now: int) -> None:
        app = run.key.app
        self.traces[run.key].stops.append(
            Stop(now, StopKind.CRASHED, StopReason.UNDEFINED, InternalStopReason.UNKNOWN)
        )
        self.core.handle(
            ev.JobCrashed(app, run.run_id, "job", "", "SimulatedCrash", "the app crashed")
        )
        # Android kills a crashing app's process; so does the daemon: every run of the app ends.
        for other in [r for r in self.runs.values() if r.key.app == app]:
            del self.runs[other.run_id]
            stopping = not other.transferring
            self._pause(other, now)
            self._report_bytes(other)
            if other is not run and not stopping:
                self.traces[other.key].stops.append(
                    Stop(now, StopKind.KILLED, StopReason.UNDEFINED, InternalStopReason.UNKNOWN)
                )
        self.core.handle(ev.ProcessDied(app, -9))

    # -- bytes ------------------------------------------------------------------------------

    def _pause(self, run: _Run, now: int) -> None:
        """The run stops moving bytes at ``now``: keep how far it got."""
        if not run.transferring:
            return
        run.transferring = False
        spec = self.traces[run.key].spec
        moved = (now - run.started_ms) / 1000 * spec.behaviour.throughput
        done = min(float(spec.total_bytes), run.done_at_start + moved)
        self.done[run.key] = done
        self.traces[run.key].progress.append((now, int(done)))

    def _report_bytes(self, run: _Run) -> None:
        """``update_transferred_network_bytes`` (download first, then upload)."""
        if self.core.run_table.run(run.run_id) is None:
            return
        spec = self.traces[run.key].spec
        done = int(self.done.get(run.key, 0.0))
        download = min(done, spec.download_bytes)
        self.core.handle(ev.BytesTransferred(run.key.app, run.run_id, download, done - download))
