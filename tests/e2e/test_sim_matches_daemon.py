"""``uidt sim`` and the real daemon agree (issue #18): one short scenario, run through the
simulator and, in real time, through a real daemon with the fake device and a real worker of a
test app that plays the simulator's app model (``tests/apps/simmodel``), gives the same stops,
with the same reasons, in the same order, and the same outcome for every job.

Times are not compared: the daemon runs on the wall clock, and a worker takes a while to start
where the simulator's apps answer at once. The steps (events, schedules) are played at least as
far apart as in the scenario, and each waits until the daemon's jobs are where the simulation
had them just before it (running, waiting, ended), so every stop follows the step that caused it;
the stops are compared by step, those of one step as a set of (job, reason, internal reason).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from uidt import JobInfo, JobScheduler
from uidt.job.reasons import InternalStopReason, StopReason
from uidt.server.limits import steady_concurrency_limit
from uidt.settings import Settings
from uidt.sim import parse_scenario, simulate
from uidt.sim.engine import MEMORY_BYTES
from uidt.sim.scenario import Constraint, DeviceEvent, JobSpec, Scenario
from uidt.sim.trace import SimResult

from .conftest import FAST_SETTINGS, Daemon, read_log, running_daemon, wait_for

APP = "org.example.simmodel"
APP_DIR = Path(__file__).resolve().parent.parent / "apps" / "simmodel"
SERVICE = "simmodel_app:ModelService"

# Events a second apart, 7 s in all; every kind of stop the brief of issue #18 names.
SCENARIO = f"""\
[scenario]
name = "daemon cross-check"
duration = "7s"

[[app]]
name = "{APP}"

[[job]]  # needs any network: stopped by the network loss, then by the user's Stop
app = "{APP}"
id = 1
download = "100GB"

[[job]]  # needs an unmetered network: stopped when it turns metered
app = "{APP}"
id = 2
network = "unmetered"
download = "100GB"

[[job]]  # a regular job: moderate heat holds it back (a user-initiated job is spared)
app = "{APP}"
id = 3
user_initiated = false
download = "100GB"

[[job]]  # answers its stop with "drop": it ends unfinished
app = "{APP}"
id = 5
network = "unmetered"
download = "100GB"
[job.behaviour]
on_stop = "drop"

[[job]]  # the app cancels it while it runs
app = "{APP}"
id = 6
download = "100GB"

[[job]]  # scheduled when the network is back: finishes its 300 KB in 0.3 s
app = "{APP}"
id = 4
at = "4s"
download = "300KB"

[[event]]
at = "1s"
metered = true
[[event]]
at = "2s"
thermal = "moderate"
[[event]]
at = "2s"
cancel = "{APP}/6"
[[event]]
at = "3s"
network = "none"
[[event]]
at = "4s"
network = "wifi"
metered = false
thermal = "none"
[[event]]
at = "5s"
user_stop = "{APP}"
"""

#: A stop: the scenario step it follows, the job, the reason and the internal reason.
StopRow = tuple[int, str, str, str]

# How a scenario's device key reads in ``uidt cmd device set``.
_DEVICE_KEYS = {"battery": "battery_level", "charging": "plugged"}
_STOP_IN_HISTORY = re.compile(r"^([A-Z_]+)/([A-Z_]+)")
_ENDED_WITH_STOP = {"rescheduled", "finished", "failed", "user-stopped"}
_RUNNING = {"active", "executing"}


def _steps(scenario: Scenario) -> list[int]:
    """The instants something is applied to the device or the app (events, schedules)."""
    return sorted({e.at_ms for e in scenario.events} | {j.at_ms for j in scenario.jobs})


def _step_of(at_ms: float, starts: list[float]) -> int:
    return max(i for i, start in enumerate(starts) if start <= at_ms)


#: What the two sides are compared by: the stops in step order, each job's outcome and its
#: number of runs.
Seen = tuple[list[StopRow], dict[str, str], dict[str, int]]


def _sim_side(result: SimResult, steps: list[int]) -> Seen:
    stops = [
        (_step_of(s.at_ms, [float(t) for t in steps]), j.spec.name, s.reason.name, s.internal.name)
        for j in result.jobs
        for s in j.stops
    ]
    outcomes = {j.spec.name: j.outcome.value for j in result.jobs}
    return sorted(stops), outcomes, {j.spec.name: j.runs for j in result.jobs}


# -- the daemon's side -------------------------------------------------------------------------


def _job_info(spec: JobSpec, tmp: Path) -> JobInfo:
    """The job the simulated app schedules, built here by hand for the real app."""
    work_ms = math.ceil(spec.total_bytes / spec.behaviour.throughput * 1000)
    extras = {
        "work_ms": work_ms,
        "on_stop": spec.behaviour.on_stop.value,
        "progress": str(tmp / f"progress-{spec.job_id}"),
        "log": str(tmp / "app.log"),
    }
    return (
        JobInfo.Builder(spec.job_id, SERVICE)
        .set_user_initiated(spec.user_initiated)
        .set_required_network_type(spec.network if spec.network is not None else 0)
        .set_requires_charging(Constraint.CHARGING in spec.constraints)
        .set_requires_battery_not_low(Constraint.BATTERY_NOT_LOW in spec.constraints)
        .set_requires_storage_not_low(Constraint.STORAGE_NOT_LOW in spec.constraints)
        .set_estimated_network_bytes(spec.download_bytes, spec.upload_bytes)
        .set_extras(extras)
        .build()
    )


def _apply(daemon: Daemon, event: DeviceEvent) -> None:
    if event.changes:
        pairs = [
            f"{_DEVICE_KEYS.get(key, key)}={str(getattr(value, 'name', value)).lower()}"
            for key, value in event.changes.items()
        ]
        daemon.shell("device", "set", *pairs)
    if event.user_stop is not None:
        done = daemon.uidt("stop", event.user_stop)
        assert done.returncode == 0, done.stderr
    if event.cancel is not None:
        app, _, job_id = event.cancel.rpartition("/")
        daemon.api("DELETE", f"/v1/apps/{app}/jobs/{job_id}")


def _wait_until(deadline: float) -> None:
    """The scenario's clock: wait for a given wall-clock instant (it is a time, not an event)."""
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.05))  # noqa: TID251 - the scenario's events happen at given times


def _play(daemon: Daemon, scenario: Scenario, result: SimResult, tmp: Path) -> list[float]:
    """Run the scenario in real time; return the wall-clock UTC ms each step began at.

    Steps are at least as far apart as in the scenario, and a step waits until the daemon's jobs
    are where the simulation had them just before it (a worker takes a while to start: the
    simulator's apps answer at once), so each stop follows the step that caused it.
    """
    scheduler = daemon.scheduler(APP)
    starts: list[float] = []
    previous: tuple[int, float] | None = None
    for step in [*_steps(scenario), scenario.duration_ms]:
        if previous is not None:
            _wait_until(previous[1] + (step - previous[0]) / 1000)
            _wait_for_phases(daemon, scenario, _sim_phases(result, step - 1), step - 1)
        previous = (step, time.monotonic())
        if step == scenario.duration_ms:
            break
        starts.append(time.time() * 1000)
        for event in [e for e in scenario.events if e.at_ms == step]:
            _apply(daemon, event)
        jobs = [j for j in scenario.jobs if j.at_ms == step]
        if jobs:
            with scheduler.activity():  # the user just tapped the app's button
                for spec in jobs:
                    assert scheduler.schedule(_job_info(spec, tmp)) == JobScheduler.RESULT_SUCCESS
    return starts


def _wait_for_phases(
    daemon: Daemon, scenario: Scenario, expected: dict[str, str], at_ms: int
) -> None:
    seen: list[dict[str, str]] = []

    def settled() -> bool:
        seen.append(_daemon_phases(daemon, scenario))
        return seen[-1] == expected

    try:
        wait_for(settled, timeout=10, what=f"the jobs as the simulation had them at {at_ms} ms")
    except AssertionError:
        assert seen[-1] == expected, f"the daemon's jobs differ from the simulation at {at_ms} ms"
        raise


def _sim_phases(result: SimResult, at_ms: int) -> dict[str, str]:
    """Each job's phase in the simulation at ``at_ms``."""
    return {
        j.spec.name: next(s.phase.value for s in j.spans if s.start_ms <= at_ms < s.end_ms)
        for j in result.jobs
    }


def _daemon_phases(daemon: Daemon, scenario: Scenario) -> dict[str, str]:
    phases = {}
    for spec in scenario.jobs:
        job = daemon.job(spec.job_id, APP)
        phases[spec.name] = "not scheduled" if job is None else _outcome(job)
    return phases


def _outcome(job: dict[str, Any]) -> str:
    state = str(job["state"])
    if state == "active":
        return "running"
    if state in ("waiting", "ready", "pending"):
        return "waiting"
    if state == "finished" and not job["completed"]:
        return "dropped"
    return state


def _daemon_side(daemon: Daemon, scenario: Scenario, starts: list[float], log: Path) -> Seen:
    stops: list[StopRow] = []
    outcomes: dict[str, str] = {}
    started = read_log(log)
    runs = {spec.name: started.count(f"start {spec.job_id}") for spec in scenario.jobs}
    for spec in scenario.jobs:
        job = daemon.job(spec.job_id, APP)
        assert job is not None, spec.name
        outcomes[spec.name] = _outcome(job)
        before = None
        for entry in job["history"]:
            at_ms = datetime.fromisoformat(entry["time"]).timestamp() * 1000
            found = _STOP_IN_HISTORY.match(str(entry["reason"]))
            if entry["state"] in _ENDED_WITH_STOP and found and found[2] != "SUCCESSFUL_FINISH":
                stops.append((_step_of(at_ms, starts), spec.name, found[1], found[2]))
            elif entry["state"] == "cancelled" and before in _RUNNING:
                # a cancel's entry names the reason alone; the ended record keeps both
                reason, internal = job["stop_reason"], job["internal_stop_reason"]
                row = StopReason(reason).name, InternalStopReason(internal).name
                stops.append((_step_of(at_ms, starts), spec.name, *row))
            before = entry["state"]
    return sorted(stops), outcomes, runs


@pytest.fixture
def sim_daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon with the core settings ``uidt sim`` runs with (the defaults, and the job slots of
    the simulator's 16 GiB whatever this machine's memory)."""
    defaults = Settings()
    settings = {name: str(getattr(defaults, name)) for name in FAST_SETTINGS}
    settings["concurrency_limit"] = str(steady_concurrency_limit(MEMORY_BYTES, None))
    home = tmp_path / "home"
    home.mkdir()
    with running_daemon(home, settings) as daemon:
        daemon.install(APP_DIR)
        yield daemon


def test_the_daemon_stops_the_jobs_as_the_simulator_says(
    sim_daemon: Daemon, tmp_path: Path
) -> None:
    scenario = parse_scenario(SCENARIO)
    steps = _steps(scenario)
    result = simulate(scenario)
    expected = _sim_side(result, steps)

    starts = _play(sim_daemon, scenario, result, tmp_path)

    log = tmp_path / "app.log"

    def agrees() -> bool:
        return _daemon_side(sim_daemon, scenario, starts, log) == expected

    # the last step's stops have long been made; a loaded machine may still be recording them
    wait_for(agrees, timeout=5, what="the daemon's stops and outcomes to settle")
    assert _daemon_side(sim_daemon, scenario, starts, log) == expected


def test_the_cross_check_covers_every_kind_of_stop_and_outcome() -> None:
    scenario = parse_scenario(SCENARIO)
    stops, outcomes, runs = _sim_side(simulate(scenario), _steps(scenario))
    assert {(reason, internal) for _, _, reason, internal in stops} == {
        ("CONSTRAINT_CONNECTIVITY", "CONSTRAINTS_NOT_SATISFIED"),
        ("DEVICE_STATE", "DEVICE_THERMAL"),
        ("USER", "USER_UI_STOP"),
        ("CANCELLED_BY_APP", "CANCELED"),
    }
    assert set(outcomes.values()) == {"user-stopped", "waiting", "dropped", "finished", "cancelled"}
    assert max(runs.values()) == 2  # jobs that come back run again
