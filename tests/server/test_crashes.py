"""An app that crashes in ``on_start_job`` again and again: the counters and delays AOSP gives it
(``JobSchedulerService.getRescheduleJobForFailureLocked``), and the last crash the job keeps."""

from __future__ import annotations

from server.helpers import APP, VISIBLE, uij
from uidt.job import InternalStopReason, StopReason
from uidt.job.key import JobKey
from uidt.server import BindApp, JobSchedulerService, KillApp, StartJob
from uidt.server.crashes import MAX_MESSAGE_CHARS, MAX_TYPE_CHARS, LastCrash
from uidt.testing import FakeClock

KEY = JobKey(APP, None, 1)
SECOND = 1000
HOUR = 3600 * SECOND


def aosp_delay_ms(num_failures: int, num_system_stops: int) -> int:
    """The delay AOSP computes for the default policy (exponential, 30 s), written out on its own:
    ``backoffAttempts = numFailures + numSystemStops / SYSTEM_STOP_TO_FAILURE_RATIO`` (3);
    no attempts, no delay; else ``30 s * 2^(attempts - 1)``, at most 5 hours."""
    attempts = num_failures + num_system_stops // 3
    if attempts == 0:
        return 0
    return min(30 * SECOND * 2 ** (attempts - 1), 5 * HOUR)


class CrashingApp:
    """Plays an app whose ``on_start_job`` raises: the worker reports the exception, the daemon
    kills the worker (as Android kills a crashing process; the runtime does this, not the core),
    and the process is gone. After each crash it notes the job's counters and its wait."""

    def __init__(self, service: JobSchedulerService, clock: FakeClock) -> None:
        self.service = service
        self.clock = clock
        self.starts = 0
        #: per crash: (num_failures, num_system_stops, wait in ms, last crash)
        self.after: list[tuple[int, int, int, LastCrash | None]] = []

    def settle(self) -> None:
        while actions := self.service.take_actions():
            for action in actions:
                if isinstance(action, BindApp):
                    self.service.host.on_bound(action.app)
                elif isinstance(action, StartJob):
                    self.starts += 1
                    self.service.host.on_job_crashed(
                        action.run_id, "RuntimeError", f"boom {self.starts}"
                    )
                    self.service.host.on_process_died(action.key.app)
                    status = self.service.jobs[KEY]
                    due = status.earliest_run_elapsed
                    wait = 0 if due is None else due - self.clock.elapsed()
                    self.after.append(
                        (status.num_failures, status.num_system_stops, wait, status.last_crash)
                    )
                elif isinstance(action, KillApp):
                    self.service.host.on_process_died(action.app)

    def crash_until(self, starts: int) -> None:
        """Let the job crash ``starts`` times, the clock jumping to each wake-up."""
        while True:
            self.settle()
            if self.starts >= starts:
                return
            due = self.service.next_wakeup()
            assert due is not None
            self.clock.set(max(due, self.clock.elapsed()))
            self.service.tick()


def test_each_crash_is_a_system_stop_and_every_third_adds_a_backoff_step(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    # Given a user-initiated job of an app that raises in on_start_job every time
    app = CrashingApp(service, clock)
    service.schedule(VISIBLE, None, uij(1))
    # When it runs and crashes 40 times
    app.crash_until(40)
    assert app.starts == 40
    for crash, (failures, system_stops, wait, last) in enumerate(app.after, start=1):
        # Then every crash is a system stop, never a failure ...
        assert (failures, system_stops) == (0, crash)
        # ... the job waits exactly as long as AOSP would make it wait ...
        assert wait == aosp_delay_ms(failures, system_stops), crash
        # ... and it keeps the last crash and how many there were
        assert last is not None
        assert (last.type, last.message, last.count) == ("RuntimeError", f"boom {crash}", crash)
    status = service.jobs[KEY]
    assert (status.last_stop_reason, status.last_internal_stop_reason) == (
        StopReason.UNDEFINED,
        InternalStopReason.UNKNOWN,
    )
    # the sequence: 2 restarts at once, then 30 s three times, 60 s three times, ... capped at 5 h
    waits = [wait for _, _, wait, _ in app.after]
    assert waits[:12] == [0, 0] + [30 * SECOND] * 3 + [60 * SECOND] * 3 + [120 * SECOND] * 3 + [
        240 * SECOND
    ]
    assert waits[-1] == 5 * HOUR


def test_nine_starts_take_four_and_a_half_minutes_not_one(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    # The issue saw about 8 restarts in a minute; with AOSP's counters the 9th start comes only
    # after 0 + 0 + 30 + 30 + 30 + 60 + 60 + 60 s = 4.5 minutes.
    app = CrashingApp(service, clock)
    begin = clock.elapsed()
    service.schedule(VISIBLE, None, uij(1))
    app.crash_until(9)
    assert app.starts == 9
    assert clock.elapsed() - begin == 270 * SECOND


def test_the_last_crash_is_shown_in_the_snapshot(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    app = CrashingApp(service, clock)
    service.schedule(VISIBLE, None, uij(1))
    (job,) = service.queries.jobs_snapshot()
    assert job["last_crash"] is None
    app.crash_until(3)  # two restarts at once, the third crash starts a 30 s wait
    (job,) = service.queries.jobs_snapshot()
    crash = job["last_crash"]
    assert crash["type"] == "RuntimeError"
    assert crash["message"] == "boom 3"
    assert crash["count"] == 3
    assert crash["time"] == clock.utc().isoformat()


def test_a_crash_report_for_an_unknown_or_ended_run_changes_nothing(
    service: JobSchedulerService,
) -> None:
    service.schedule(VISIBLE, None, uij(1))
    service.host.on_job_crashed(12345, "RuntimeError", "late")
    assert service.jobs[KEY].last_crash is None


def test_a_hostile_crash_report_is_cut_to_size(service: JobSchedulerService) -> None:
    # A worker is app code: its report may be huge or empty; the record stays small and readable
    service.schedule(VISIBLE, None, uij(1))
    service.take_actions()
    service.host.on_bound(APP)
    (start,) = [a for a in service.take_actions() if isinstance(a, StartJob)]
    service.host.on_job_crashed(start.run_id, "X" * 10_000, "m" * 100_000)
    crash = service.jobs[KEY].last_crash
    assert crash is not None
    assert len(crash.type) <= MAX_TYPE_CHARS
    assert len(crash.message) <= MAX_MESSAGE_CHARS
    assert crash.message.endswith("…")
    service.host.on_job_crashed(start.run_id, "", "")
    crash = service.jobs[KEY].last_crash
    assert crash is not None
    assert (crash.type, crash.message, crash.count) == ("Exception", "", 2)


def test_a_new_schedule_of_the_same_id_starts_without_a_crash(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    # AOSP: a freshly scheduled JobStatus starts with zero counters; so does its crash record
    app = CrashingApp(service, clock)
    service.schedule(VISIBLE, None, uij(1))
    app.crash_until(1)
    assert service.jobs[KEY].last_crash is not None
    service.schedule(VISIBLE, None, uij(1, estimated_network_bytes=(10, 0)))
    assert service.jobs[KEY].last_crash is None
    assert service.jobs[KEY].num_system_stops == 0
