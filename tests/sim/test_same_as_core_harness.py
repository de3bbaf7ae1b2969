"""``uidt sim`` and the core's own test harness agree: the same scenario, driven by hand through
``JobSchedulerService`` with a ``FakeClock``, a ``FakeDeviceSource`` and ``InProcessApps`` (the
way the scenario tests of the core drive it), asks for the same stops, with the same reasons, at
the same times, and leaves the same jobs scheduled.

The harness side builds its jobs and device snapshots itself (not with the simulator's helpers),
so a mistake in how the simulator turns a scenario into core inputs shows up here.
"""

from __future__ import annotations

from uidt.device.state import DeviceState, NetworkState, ThermalStatus
from uidt.job import JobInfo, NetworkType
from uidt.job.key import JobKey
from uidt.job.network import Transport
from uidt.job.reasons import InternalStopReason, StopReason
from uidt.server import AppInfo, Caller, JobSchedulerService
from uidt.server.actions import StopJob
from uidt.settings import Settings
from uidt.sim import parse_scenario, simulate
from uidt.testing import AppBehaviour, FakeClock, FakeDeviceSource, InProcessApps, run_until_idle

MINUTE = 60_000

# Jobs that never finish within the 90 minutes (so every run ends by a stop, as with the
# harness's apps, which keep running until they are stopped).
SCENARIO = """\
[scenario]
name = "cross-check"
duration = "90m"

[device]
network = "wifi"
battery = 80
charging = false

[[app]]
name = "org.example.a"
[[app]]
name = "org.example.b"

[[job]]
app = "org.example.a"
id = 1
network = "unmetered"
download = "100GB"

[[job]]
app = "org.example.a"
id = 2
network = "any"
constraints = ["battery_not_low"]
download = "100GB"

[[job]]
app = "org.example.b"
id = 3
user_initiated = false
network = "any"
download = "100GB"

[[event]]
at = "10m"
metered = true
[[event]]
at = "20m"
metered = false
[[event]]
at = "30m"
thermal = "severe"
[[event]]
at = "40m"
thermal = "none"
[[event]]
at = "50m"
battery = 15
[[event]]
at = "60m"
charging = true
[[event]]
at = "70m"
network = "none"
[[event]]
at = "75m"
network = "wifi"
"""

SERVICE = "sim.app:TransferService"


def _app(package: str) -> AppInfo:
    return AppInfo(
        package=package,
        services={SERVICE: "BIND_JOB_SERVICE"},
        permissions=frozenset({"RUN_USER_INITIATED_JOBS"}),
        channels=frozenset({"transfers"}),
    )


def _job(job_id: int, *, uij: bool, network: NetworkType, battery_not_low: bool = False) -> JobInfo:
    return (
        JobInfo.Builder(job_id, SERVICE)
        .set_user_initiated(uij)
        .set_required_network_type(network)
        .set_requires_battery_not_low(battery_not_low)
        .set_estimated_network_bytes(100_000_000_000, 0)
        .build()
    )


def _wifi(metered: bool = False) -> NetworkState:
    return NetworkState(transport=Transport.WIFI, metered=metered, name="wifi")


def _harness() -> tuple[list[tuple[int, str, StopReason, InternalStopReason]], set[JobKey]]:
    clock = FakeClock()
    origin = clock.elapsed()
    start = DeviceState(network=_wifi(), battery_level=80, plugged=False, charging=False)
    source = FakeDeviceSource(start)
    core = JobSchedulerService(
        clock=clock,
        settings=Settings(),
        device=start,
        installed_memory_bytes=16 * 1024**3,
        apps={p: _app(p) for p in ("org.example.a", "org.example.b")},
    )
    source.add_listener(core.on_device_state)
    apps = InProcessApps(core, lambda _key: AppBehaviour(stop_result=True))
    stops: list[tuple[int, str, StopReason, InternalStopReason]] = []

    def settle() -> None:
        for action in run_until_idle(core, apps):
            if isinstance(action, StopJob):
                name = f"{action.key.app}/{action.key.job_id}"
                stops.append(
                    (clock.elapsed() - origin, name, action.stop_reason, action.internal_reason)
                )

    def until(minute: int) -> None:
        target = origin + minute * MINUTE
        while (wakeup := core.next_wakeup()) is not None and wakeup <= target:
            clock.set(max(wakeup, clock.elapsed()))
            core.tick()
            settle()
        clock.set(target)

    visible_a, visible_b = (
        Caller("org.example.a", visible=True),
        Caller("org.example.b", visible=True),
    )
    core.schedule(visible_a, None, _job(1, uij=True, network=NetworkType.UNMETERED))
    core.schedule(visible_a, None, _job(2, uij=True, network=NetworkType.ANY, battery_not_low=True))
    core.schedule(visible_b, None, _job(3, uij=False, network=NetworkType.ANY))
    settle()
    steps = [
        (10, {"network": _wifi(metered=True)}),
        (20, {"network": _wifi()}),
        (30, {"thermal": ThermalStatus.SEVERE}),
        (40, {"thermal": ThermalStatus.NONE}),
        (50, {"battery_level": 15, "battery_not_low": False}),
        (60, {"plugged": True, "charging": True, "battery_not_low": True}),
        (70, {"network": None}),
        (75, {"network": _wifi()}),
    ]
    for minute, changes in steps:
        until(minute)
        source.set(**changes)
        settle()
    until(90)
    return stops, set(core.jobs)


def test_the_simulator_asks_for_the_same_stops_as_the_core_harness() -> None:
    expected, scheduled = _harness()
    result = simulate(parse_scenario(SCENARIO))
    assert result.scheduler_stops == expected
    still = {JobKey(j.spec.app, None, j.spec.job_id) for j in result.jobs if j.ended is None}
    assert still == scheduled


def test_the_cross_check_covers_several_kinds_of_stop() -> None:
    expected, _ = _harness()
    reasons = {reason for _, _, reason, _ in expected}
    assert {
        StopReason.CONSTRAINT_CONNECTIVITY,
        StopReason.DEVICE_STATE,
        StopReason.CONSTRAINT_BATTERY_NOT_LOW,
    } <= reasons
