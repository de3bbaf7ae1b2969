"""A persisted job across a daemon restart: its earliest run time is kept (Android's JobStore).

Each test plays two daemons over one real SQLite file: the first schedules a job (its minimum
latency, or a failure's backoff, sets the earliest run time), writes what the core asks to
persist, and goes away; the
second starts with a fresh monotonic clock (elapsed time restarts at boot) whose wall clock has
moved on, and loads the file.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from server.helpers import APP, BACKGROUND, GIB, VISIBLE, make_app, regular, uij
from uidt.device.state import DeviceState
from uidt.job.key import JobKey
from uidt.server import JobSchedulerService, PersistJob, StartJob
from uidt.settings import Settings
from uidt.store.sqlite import SqliteJobStore
from uidt.testing import AppBehaviour, FakeClock, InProcessApps, run_until_idle

KEY = JobKey(APP, None, 1)
START = datetime(2026, 11, 30, 12, 0, 0)
BACKOFF_MS = 30_000  # the first failure's delay (initial backoff 30 s, exponential)


def _service(clock: FakeClock) -> JobSchedulerService:
    return JobSchedulerService(
        clock=clock,
        settings=Settings(),
        device=DeviceState(),
        installed_memory_bytes=16 * GIB,
        apps={APP: make_app()},
    )


def _fail_once_and_persist(path: Path) -> FakeClock:
    """The first daemon: the job runs and asks to be rescheduled (``job_finished(True)``, a
    failure: 30 s of backoff), and every record the core asks for is written."""
    clock = FakeClock(elapsed=5_000_000, utc=START)
    service = _service(clock)
    store = SqliteJobStore(path)
    try:
        service.schedule(VISIBLE, None, uij(1, persisted=True))
        apps = InProcessApps(service, lambda _key: AppBehaviour(finish=True))
        run_until_idle(service, lambda action: (apps(action), _save(store, action)))
        status = service.jobs[KEY]
        assert status.earliest_run_elapsed == clock.elapsed() + BACKOFF_MS
    finally:
        store.close()
    return clock


def _schedule_and_persist(path: Path, latency_ms: int) -> None:
    """The first daemon: a regular persisted job with a minimum latency, saved; nothing runs."""
    service = _service(FakeClock(elapsed=5_000_000, utc=START))
    store = SqliteJobStore(path)
    try:
        service.schedule(BACKGROUND, None, regular(1, persisted=True, minimum_latency=latency_ms))
        run_until_idle(service, lambda action: _save(store, action))
    finally:
        store.close()


def _save(store: SqliteJobStore, action: object) -> None:
    if isinstance(action, PersistJob):
        store.put_job(action.record)


def _restart(
    path: Path, *, after_ms: int, elapsed: int = 7_000
) -> tuple[JobSchedulerService, FakeClock]:
    """The second daemon, ``after_ms`` of wall time later, with a fresh elapsed clock."""
    clock = FakeClock(elapsed=elapsed, utc=START + timedelta(milliseconds=after_ms))
    service = _service(clock)
    store = SqliteJobStore(path)
    try:
        service.load(store.load_jobs())
    finally:
        store.close()
    return service, clock


def test_a_backoff_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    _fail_once_and_persist(path)
    service, clock = _restart(path, after_ms=10_000)  # 10 s of the 30 s backoff have passed
    status = service.jobs[KEY]
    assert status.earliest_run_elapsed == clock.elapsed() + BACKOFF_MS - 10_000
    assert not [a for a in run_until_idle(service) if isinstance(a, StartJob)]
    assert service.next_wakeup() == clock.elapsed() + 20_000
    clock.advance(19_999)
    service.tick()
    assert not [a for a in run_until_idle(service) if isinstance(a, StartJob)]
    clock.advance(1)
    service.tick()
    assert [a for a in run_until_idle(service) if isinstance(a, StartJob)]


def test_a_backoff_that_ran_out_while_down_runs_at_once(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    _fail_once_and_persist(path)
    service, _clock = _restart(path, after_ms=BACKOFF_MS + 60_000)
    assert service.jobs[KEY].earliest_run_elapsed is None
    assert [a for a in run_until_idle(service) if isinstance(a, StartJob)]


def test_a_wall_clock_set_back_cannot_hold_a_job_beyond_the_longest_backoff(
    tmp_path: Path,
) -> None:
    """Hostile: the clock went back a day while the daemon was down (or the file was edited)."""
    path = tmp_path / "jobs.sqlite"
    _fail_once_and_persist(path)
    service, clock = _restart(path, after_ms=-86_400_000)
    status = service.jobs[KEY]
    assert status.earliest_run_elapsed == clock.elapsed() + Settings().max_backoff_ms


def test_a_minimum_latency_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    _schedule_and_persist(path, latency_ms=3_600_000)
    service, clock = _restart(path, after_ms=600_000)  # 10 of the 60 minutes have passed
    assert service.jobs[KEY].earliest_run_elapsed == clock.elapsed() + 3_000_000
    assert not [a for a in run_until_idle(service) if isinstance(a, StartJob)]


def test_a_wall_clock_set_back_holds_a_job_no_longer_than_its_own_latency(
    tmp_path: Path,
) -> None:
    """Hostile: a 10 h latency (longer than any backoff) and a clock set back a day."""
    path = tmp_path / "jobs.sqlite"
    _schedule_and_persist(path, latency_ms=36_000_000)
    service, clock = _restart(path, after_ms=-86_400_000)
    assert service.jobs[KEY].earliest_run_elapsed == clock.elapsed() + 36_000_000
