"""``uidt sim``'s engine: the real scheduler core on a virtual clock, driven by a scenario.

This is the test kit's way of driving the core (``FakeClock``, events as values, the actions
drained until the core is idle, ``tick`` when ``next_wakeup`` is due), run as a discrete-event
simulation: the clock jumps straight to the next thing that happens (a scenario event, a job
being scheduled, one of the core's timers, a simulated run finishing or crashing). Nothing reads
the real time, so a scenario and a seed always give the same result, and a simulated day takes
milliseconds.
"""

from __future__ import annotations

import random
from collections import deque

from uidt.job.key import JobKey
from uidt.job.reasons import PendingReason
from uidt.server import events as ev
from uidt.server.actions import JobStateChanged
from uidt.server.apps import AppInfo, Caller
from uidt.server.jobstate import JobState
from uidt.server.service import RESULT_SUCCESS, JobSchedulerService
from uidt.settings import Settings
from uidt.sim.player import CHANNEL, AppPlayer
from uidt.sim.scenario import SERVICE, Device, DeviceEvent, JobSpec, Scenario
from uidt.sim.trace import JobTrace, Phase, SimResult
from uidt.testing.clock import FakeClock

#: The machine's memory the core sizes its slots from (16 GiB: the default limit of jobs).
MEMORY_BYTES = 16 * 1024**3
#: How many steps may happen at one instant before the core is said to be spinning.
MAX_STEPS_AT_ONE_TIME = 10_000

_ENDED = {
    JobState.FINISHED.value: Phase.FINISHED,
    JobState.FAILED.value: Phase.FAILED,
    JobState.CANCELLED.value: Phase.CANCELLED,
    JobState.USER_STOPPED.value: Phase.USER_STOPPED,
}


def app_info(package: str) -> AppInfo:
    """A simulated app: one job service, the UIJ permission, one notification channel."""
    return AppInfo(
        package=package,
        services={SERVICE: "BIND_JOB_SERVICE"},
        permissions=frozenset({"RUN_USER_INITIATED_JOBS"}),
        channels=frozenset({CHANNEL}),
    )


def simulate(scenario: Scenario, seed: int | None = None) -> SimResult:
    """Run ``scenario`` (with ``seed``, default the scenario's own) and return what happened."""
    return Simulation(scenario, seed).run()


class Simulation:
    """One run of a scenario; :meth:`run` once. ``core`` is the scheduler core it drives."""

    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.clock = FakeClock()
        self.origin = self.clock.elapsed()
        self.device: Device = scenario.device
        state = self.device.state()
        self.core = JobSchedulerService(
            clock=self.clock,
            settings=Settings(),
            device=state,
            installed_memory_bytes=MEMORY_BYTES,
            apps={app: app_info(app) for app in scenario.apps},
        )
        self.traces = {JobKey(s.app, None, s.job_id): JobTrace(s) for s in scenario.jobs}
        self.player = AppPlayer(self.core, self.traces, random.Random(self.seed), self.now)
        self.device_history = [(0, state)]
        #: The last terminal-sounding state change per job: ``(state, reason)``.
        self.last_end_note: dict[JobKey, tuple[str, str]] = {}
        # what happens at given times, in order: events before jobs at the same instant
        self.agenda: deque[tuple[int, int, DeviceEvent | JobSpec]] = deque(
            sorted(
                [(e.at_ms, 0, e) for e in scenario.events]
                + [(j.at_ms, 1, j) for j in scenario.jobs],
                key=lambda item: (item[0], item[1]),
            )
        )

    def now(self) -> int:
        return self.clock.elapsed() - self.origin

    def run(self) -> SimResult:
        end = self.scenario.duration_ms
        steps_now, last = 0, -1
        while True:
            self.drain()
            self.observe()
            due = self.next_time()
            if due is None or due > end:
                break
            steps_now = steps_now + 1 if due == last else 0
            if steps_now > MAX_STEPS_AT_ONE_TIME:
                raise RuntimeError(f"the simulation does not advance past {due} ms")
            last = due
            self.clock.set(self.origin + due)
            self.step(due)
        self.clock.set(self.origin + end)
        for trace in self.traces.values():
            trace.close(end)
        return SimResult(
            scenario_name=self.scenario.name,
            seed=self.seed,
            duration_ms=end,
            jobs=list(self.traces.values()),
            device=self.device_history,
            scheduler_stops=self.player.scheduler_stops,
        )

    def next_time(self) -> int | None:
        times = [self.agenda[0][0]] if self.agenda else []
        wakeup = self.core.next_wakeup()
        if wakeup is not None:
            times.append(max(0, wakeup - self.origin))
        due = self.player.next_due()
        if due is not None:
            times.append(due)
        return max(min(times), self.now()) if times else None

    def step(self, now: int) -> None:
        """Everything due at ``now``: first the core's timers, then the apps' own events (a run
        finishing or crashing), then the scenario's events and jobs, in file order.

        The core's test harness does the same (it runs the timers due up to an instant, then
        changes the device), so a timeout and a device change at one instant come in one order.
        """
        wakeup = self.core.next_wakeup()
        if wakeup is not None and wakeup <= self.clock.elapsed():
            self.core.handle(ev.TimerDue())
            self.drain()
        self.player.fire_due()
        self.drain()
        while self.agenda and self.agenda[0][0] <= now:
            _, _, item = self.agenda.popleft()
            if isinstance(item, JobSpec):
                self.schedule(item)
            else:
                self.apply(item)
            self.drain()

    def schedule(self, spec: JobSpec) -> None:
        # the user just tapped the app's button: the app is visible when it schedules
        result = self.core.handle(
            ev.Schedule(Caller(spec.app, visible=True), None, spec.job_info())
        )
        if result != RESULT_SUCCESS:
            self.traces[JobKey(spec.app, None, spec.job_id)].failure = "the scheduler refused it"

    def apply(self, event: DeviceEvent) -> None:
        if event.changes:
            self.device = Device(**{**vars(self.device), **event.changes})
            state = self.device.state(self.core.device)
            self.core.handle(ev.DeviceChanged(state))
            self.device_history.append((self.now(), state))
        if event.user_stop is not None:
            self.core.handle(ev.UserStop(event.user_stop))
        if event.cancel is not None:
            app, _, job_id = event.cancel.rpartition("/")
            self.core.handle(ev.Cancel(app, None, int(job_id)))

    def drain(self) -> None:
        """Hand every queued action to the apps until the core has nothing more to say."""
        while actions := self.core.take_actions():
            for action in actions:
                if isinstance(action, JobStateChanged) and action.state in _ENDED:
                    # a terminal state's name, or only a note ("user-stopped" also marks a
                    # waiting job the user demoted): whether the job ended, the core's jobs say
                    self.last_end_note[action.key] = (action.state, action.reason)
                self.player(action)

    def observe(self) -> None:
        """Note each job's phase (and pending reasons) as it stands now."""
        now = self.now()
        queries = self.core.queries
        for key, trace in self.traces.items():
            if trace.ended is not None:
                trace.observe(trace.ended[1], trace.ended[0])
                continue
            status = self.core.jobs.get(key)
            note = self.last_end_note.get(key)
            if status is None and note is not None:
                phase = _ENDED[note[0]]
                if phase is Phase.FINISHED and not trace.completed:
                    phase = Phase.DROPPED  # ended after a stop, its work not done
                trace.ended = (phase, now)
                if note[0] == JobState.FAILED.value:
                    trace.failure = note[1]
                trace.observe(now, trace.ended[0])
            elif status is None:
                trace.observe(now, Phase.NOT_SCHEDULED)
            elif status.state is JobState.ACTIVE:
                trace.observe(now, Phase.RUNNING)
            else:
                reasons = queries.get_pending_job_reasons(key.app, None, key.job_id)
                trace.observe(now, Phase.WAITING, tuple(_known(reasons)))


def _known(reasons: list[PendingReason]) -> list[PendingReason]:
    return [r for r in reasons if r is not PendingReason.EXECUTING]
