"""A real job's timeline from what the daemon keeps (its history and pending-reason history),
with the facts produced by the real core driven by the test kit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

from uidt.device.history import DeviceReading
from uidt.device.state import DeviceState, NetworkState, ThermalStatus
from uidt.job import JobInfo, NetworkType
from uidt.server import AppInfo, Caller, JobSchedulerService
from uidt.settings import Settings
from uidt.testing import AppBehaviour, FakeClock, InProcessApps, run_until_idle
from uidt.timeline import MarkKind, Style, render_svg
from uidt.timeline.history import MAX_READING_BANDS, timeline_of_job

APP = "org.example.a"
SERVICE = "a.svc:Service"
MINUTE = 60_000


def _core(clock: FakeClock) -> tuple[JobSchedulerService, InProcessApps]:
    core = JobSchedulerService(
        clock=clock,
        settings=Settings(),
        device=DeviceState(),
        installed_memory_bytes=16 * 1024**3,
        apps={
            APP: AppInfo(
                APP,
                services={SERVICE: "BIND_JOB_SERVICE"},
                permissions=frozenset({"RUN_USER_INITIATED_JOBS"}),
                channels=frozenset({"transfers"}),
            )
        },
    )
    return core, InProcessApps(core, lambda _key: AppBehaviour(stop_result=True))


def _schedule(core: JobSchedulerService, apps: InProcessApps) -> None:
    job = (
        JobInfo.Builder(1, SERVICE)
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.UNMETERED)
        .build()
    )
    core.schedule(Caller(APP, visible=True), None, job)
    run_until_idle(core, apps)


def _facts(core: JobSchedulerService) -> tuple[dict[str, Any], list[list[Any]]]:
    (job,) = core.queries.jobs_snapshot(include_ended=True)
    history = core.queries.get_pending_job_reasons_history(APP, None, 1)
    return job, [[t, [int(r) for r in rs]] for t, rs in history]


def _stopped_for_the_network() -> tuple[FakeClock, JobSchedulerService, InProcessApps]:
    clock = FakeClock()
    core, apps = _core(clock)
    _schedule(core, apps)
    clock.advance(5 * MINUTE)
    core.on_device_state(DeviceState(network=NetworkState(metered=True)))
    run_until_idle(core, apps)
    clock.advance(10 * MINUTE)
    return clock, core, apps


def test_a_waiting_job_shows_its_run_its_stop_and_why_it_waits() -> None:
    clock, core, _ = _stopped_for_the_network()
    job, reasons = _facts(core)
    timeline = timeline_of_job(job, reasons, clock.utc())
    (row,) = timeline.jobs
    start = timeline.start_ms
    assert [(b.start_ms - start, b.end_ms - start, b.style) for b in row.lane.bands] == [
        (0, 5 * MINUTE, Style.RUNNING),
        (5 * MINUTE, 15 * MINUTE, Style.WAIT_NETWORK),
    ]
    assert row.lane.bands[1].label == "waiting for a suitable network"
    (mark,) = row.lane.marks
    assert (mark.at_ms - start, mark.kind) == (5 * MINUTE, MarkKind.STOPPED)
    assert mark.words == "the network was lost or no longer suited the job"
    assert mark.code == "CONSTRAINT_CONNECTIVITY (CONSTRAINTS_NOT_SATISFIED)"
    assert timeline.origin == clock.utc() - timedelta(minutes=15)


def test_a_finished_job_ends_in_a_finished_band_without_a_stop() -> None:
    clock, core, apps = _stopped_for_the_network()
    core.on_device_state(DeviceState())
    run_until_idle(core, apps)
    clock.advance(5 * MINUTE)
    (run_id,) = apps.running
    core.host.on_job_finished(run_id, False)
    run_until_idle(core, apps)
    job, _ = _facts(core)
    assert job["state"] == "finished"
    timeline = timeline_of_job(job, [], clock.utc() + timedelta(minutes=5))
    bands = timeline.jobs[0].lane.bands
    assert [b.style for b in bands] == [
        Style.RUNNING,
        Style.WAIT_NETWORK,  # the ended record keeps the job's pending-reason changes
        Style.RUNNING,
        Style.FINISHED,
    ]
    assert len(timeline.jobs[0].lane.marks) == 1  # the network stop; the finish is no stop


def test_the_users_stop_of_a_waiting_job_is_not_its_end() -> None:
    clock, core, apps = _stopped_for_the_network()
    core.user_stop(APP)
    run_until_idle(core, apps)
    clock.advance(MINUTE)
    job, reasons = _facts(core)
    assert job["state"] != "user-stopped"
    bands = timeline_of_job(job, reasons, clock.utc()).jobs[0].lane.bands
    assert bands[-1].style is Style.WAIT_USER  # still waiting (held back by the user), not ended
    assert bands[-1].label == "stopped by the user"


def test_a_failed_job_says_why_and_the_svg_reads_in_local_time() -> None:
    job = {
        "app": APP,
        "job_id": 3,
        "state": "failed",
        "failure": "the server's file changed <twice>",
        "history": [
            {"time": "2026-03-01T12:00:00+00:00", "state": "scheduled", "reason": "schedule"},
            {"time": "2026-03-01T12:00:01+00:00", "state": "active", "reason": "started"},
            {"time": "2026-03-01T12:10:00+00:00", "state": "failed", "reason": "x"},
        ],
    }
    timeline = timeline_of_job(job, [], datetime(2026, 3, 1, 13, 0, tzinfo=UTC))
    bands = timeline.jobs[0].lane.bands
    assert bands[-1].label == "failed: the server's file changed <twice>"
    assert bands[-1].end_ms == timeline.end_ms
    root = ET.fromstring(render_svg(timeline).encode())
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert datetime(2026, 3, 1, 12, 0, tzinfo=UTC).astimezone().strftime("%H:%M") in texts


def test_a_job_with_no_history_draws_an_empty_lane() -> None:
    timeline = timeline_of_job({"app": APP, "job_id": 1}, [], datetime(2026, 1, 1, tzinfo=UTC))
    assert timeline.jobs[0].lane.bands == ()
    ET.fromstring(render_svg(timeline).encode())


# -- device lanes from the readings the daemon keeps ---------------------------------------------


def _reading(clock: FakeClock, state: DeviceState) -> DeviceReading:
    return DeviceReading.of(state, int(clock.utc().timestamp() * 1000))


def test_the_network_lane_shows_the_readings_the_job_depends_on() -> None:
    clock = FakeClock()
    core, apps = _core(clock)
    before = _reading(clock, DeviceState())  # kept before the job: clipped to its start
    clock.advance(MINUTE)
    _schedule(core, apps)
    clock.advance(5 * MINUTE)
    metered = DeviceState(network=NetworkState(metered=True))
    readings = [before, _reading(clock, metered)]
    core.on_device_state(metered)
    run_until_idle(core, apps)
    clock.advance(10 * MINUTE)
    job, reasons = _facts(core)
    assert job["constraints"] == ["network"]
    timeline = timeline_of_job(job, reasons, clock.utc(), readings)
    (lane,) = timeline.readings  # the battery, storage, heat … lanes: nothing the job needs
    start = timeline.start_ms
    assert lane.title == "network"
    assert [(b.start_ms - start, b.end_ms - start, b.style, b.label) for b in lane.bands] == [
        (0, 5 * MINUTE, Style.GOOD, "Wi-Fi, unmetered"),
        (5 * MINUTE, 15 * MINUTE, Style.LIMITED, "Wi-Fi, metered"),
    ]
    assert "Wi-Fi, metered" in render_svg(timeline)


def test_heat_shows_when_it_was_not_normal_and_the_battery_reads_as_a_band() -> None:
    clock = FakeClock()
    core, apps = _core(clock)
    _schedule(core, apps)
    hot = DeviceState(thermal=ThermalStatus.SEVERE, battery_level=47, plugged=False, charging=False)
    readings = [_reading(clock, DeviceState()), _reading(clock, hot)]
    clock.advance(MINUTE)
    job, reasons = _facts(core)
    job["constraints"] = ["network", "battery_not_low"]
    timeline = timeline_of_job(job, reasons, clock.utc(), readings)
    lanes = {lane.title: lane for lane in timeline.readings}
    assert sorted(lanes) == ["battery", "heat", "network"]
    assert lanes["heat"].bands[-1].label == "severe heat"
    assert lanes["battery"].bands[-1].label == "40-49 %, on battery"


def test_a_huge_reading_history_draws_a_bounded_picture() -> None:
    """As many readings as a daemon keeps (``device_history_max``), the network flapping
    between each: 25 times more changes than a lane may draw, all within the job's 10 minutes.
    (The history once had 600 000 readings here, 60 times what a daemon hands over by default,
    which cost this one test 40 s and more of the suite's time.)"""
    clock = FakeClock()
    core, apps = _core(clock)
    _schedule(core, apps)
    count = Settings().device_history_max
    assert count > 20 * MAX_READING_BANDS
    base = int(clock.utc().timestamp() * 1000)
    step = 10 * MINUTE // count
    readings = [
        DeviceReading.of(DeviceState(network=NetworkState(metered=i % 2 == 1)), base + i * step)
        for i in range(count)
    ]
    clock.advance(10 * MINUTE)
    job, reasons = _facts(core)
    timeline = timeline_of_job(job, reasons, clock.utc(), readings)
    (lane,) = timeline.readings
    assert len(lane.bands) <= MAX_READING_BANDS + 1
    assert "changed" in lane.bands[0].label
    assert len(render_svg(timeline)) < 2_000_000


def test_a_job_stopped_six_times_is_drawn_from_its_start() -> None:
    clock = FakeClock()
    core, apps = _core(clock)
    scheduled = clock.utc()
    _schedule(core, apps)
    for _ in range(6):
        clock.advance(MINUTE)
        core.on_device_state(DeviceState(network=NetworkState(metered=True)))
        run_until_idle(core, apps)
        clock.advance(MINUTE)
        core.on_device_state(DeviceState())
        run_until_idle(core, apps)
    job, reasons = _facts(core)
    assert len(job["history"]) > 10
    timeline = timeline_of_job(job, reasons, clock.utc())
    assert timeline.origin == scheduled
    assert len(timeline.jobs[0].lane.marks) == 6


def test_the_bytes_the_app_reported_draw_a_line_kept_in_the_ended_record() -> None:
    clock = FakeClock()
    core, apps = _core(clock)
    _schedule(core, apps)
    (run_id,) = apps.running
    start = int(clock.utc().timestamp() * 1000)
    for done in (100, 300, 900):
        clock.advance(MINUTE)
        core.host.on_update_transferred_bytes(run_id, done, 0)
    core.host.on_job_finished(run_id, False)
    run_until_idle(core, apps)
    job, _ = _facts(core)
    assert job["state"] == "finished"
    expected = [[start + MINUTE, 100], [start + 2 * MINUTE, 300], [start + 3 * MINUTE, 900]]
    assert job["bytes_history"] == expected
    curve = timeline_of_job(job, [], clock.utc()).jobs[0].curve
    assert curve is not None
    assert [list(p) for p in curve.points] == expected
    assert curve.total == 900  # no estimate: the most it did
