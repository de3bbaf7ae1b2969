"""Runtime limits (docs/android-semantics.md#runtime-limits): 6 h / 12 h, the timeout quota, estimates, demotion at 24 h."""

from __future__ import annotations

from server.helpers import APP, GIB, VISIBLE, make_app, of_type, started, uij
from uidt.device.state import DeviceState, NetworkState
from uidt.job import InternalStopReason, StopReason
from uidt.job.flags import INTERNAL_FLAG_DEMOTED_BY_SYSTEM_UIJ
from uidt.server import JobSchedulerService, StartJob, StopJob
from uidt.server.limits import (
    TimeoutQuota,
    max_runtime_ms,
    min_guarantee_ms,
    steady_concurrency_limit,
)
from uidt.settings import Settings
from uidt.testing import FakeClock, run_until_idle

HOUR = 3_600_000
MIN = 60_000


def test_pure_limits() -> None:
    s = Settings()
    assert (
        min_guarantee_ms(s, treated_as_uij=True, uij_ok=True, in_quota=True, has_network=True)
        == 6 * HOUR
    )
    assert (
        min_guarantee_ms(s, treated_as_uij=True, uij_ok=True, in_quota=False, has_network=True)
        == 30 * MIN
    )
    assert (
        min_guarantee_ms(s, treated_as_uij=True, uij_ok=True, in_quota=True, has_network=False)
        == 6 * HOUR
    )
    assert (
        min_guarantee_ms(s, treated_as_uij=True, uij_ok=False, in_quota=True, has_network=True)
        == 10 * MIN
    )
    assert (
        min_guarantee_ms(s, treated_as_uij=False, uij_ok=True, in_quota=True, has_network=True)
        == 10 * MIN
    )
    assert max_runtime_ms(s, treated_as_uij=True, uij_ok=True, in_quota=True) == 12 * HOUR
    assert max_runtime_ms(s, treated_as_uij=True, uij_ok=True, in_quota=False) == 30 * MIN
    assert max_runtime_ms(s, treated_as_uij=False, uij_ok=True, in_quota=True) == 30 * MIN


def test_estimate_based_guarantee() -> None:
    s = Settings(runtime_use_data_estimates_for_limits=True)
    args = {"treated_as_uij": True, "uij_ok": True, "in_quota": True, "has_network": True}
    assert min_guarantee_ms(s, **args, transfer_ms=-1) == 6 * HOUR
    assert min_guarantee_ms(s, **args, transfer_ms=HOUR) == 6 * HOUR
    assert min_guarantee_ms(s, **args, transfer_ms=8 * HOUR) == int(8 * HOUR * 1.35)
    assert min_guarantee_ms(s, **args, transfer_ms=20 * HOUR) == 12 * HOUR


def test_steady_limit_by_memory() -> None:
    assert [steady_concurrency_limit(g * GIB, None) for g in (1, 4, 8, 12, 32)] == [
        8,
        16,
        20,
        32,
        40,
    ]
    assert steady_concurrency_limit(GIB, 100) == 64
    assert steady_concurrency_limit(GIB, 0) == 1


def test_timeout_quota_window() -> None:
    quota = TimeoutQuota(2, 1000)
    assert quota.in_quota("a", 0)
    quota.note("a", 0)
    quota.note("a", 10)
    assert not quota.in_quota("a", 500)
    assert quota.in_quota("a", 1001)
    quota.note("a", 1001)
    quota.reset("a")
    assert quota.in_quota("a", 1002)


def test_two_uij_timeouts_in_24h_cut_runtime_to_30min(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    for round_ in range(2):
        run_id = started(service, uij(round_ + 1))
        service.commands.timeout(APP)
        service.host.on_stop_job_result(run_id, False)
        service.take_actions()
    run_id = started(service, uij(3))
    ctx = service.runs[run_id]
    assert (ctx.min_guarantee_ms, ctx.max_runtime_ms) == (30 * MIN, 30 * MIN)
    clock.advance(30 * MIN)
    service.tick()
    stop = of_type(service.take_actions(), StopJob)[0]
    assert stop.stop_reason is StopReason.TIMEOUT


def test_stall_stops_do_not_count_as_quota_timeouts(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    run_id = started(service)
    service.host.on_update_transferred_bytes(run_id, 0, 0)
    clock.advance(10 * MIN)
    service.tick()
    stop = of_type(service.take_actions(), StopJob)[0]
    assert (stop.stop_reason, stop.internal_reason) == (
        StopReason.TIMEOUT,
        InternalStopReason.TIMEOUT,
    )
    service.host.on_stop_job_result(run_id, False)  # the watchdog reschedules regardless
    status = next(iter(service.jobs.values()))
    assert status.num_failures == 1
    assert status.earliest_run_elapsed == clock.elapsed() + 30_000
    assert service.timeout_quota.in_quota(APP, clock.elapsed())


def test_progress_resets_the_watchdog(service: JobSchedulerService, clock: FakeClock) -> None:
    run_id = started(service)
    service.host.on_update_transferred_bytes(run_id, 10, 0)
    clock.advance(9 * MIN)
    service.host.on_update_transferred_bytes(run_id, 20, 0)
    clock.advance(9 * MIN)
    service.tick()
    assert not of_type(service.take_actions(), StopJob)
    assert service.commands.get_transferred_download_bytes(APP, None, 1).output == "20"


def test_watchdog_needs_reported_bytes(service: JobSchedulerService, clock: FakeClock) -> None:
    started(service)
    clock.advance(5 * HOUR)
    service.tick()
    assert not of_type(service.take_actions(), StopJob)


def test_cumulative_24h_demotes_and_regular_limits_follow(clock: FakeClock) -> None:
    service = JobSchedulerService(
        clock=clock,
        settings=Settings(),
        device=DeviceState(),
        installed_memory_bytes=16 * GIB,
        apps={APP: make_app()},
    )
    run_id = started(service)
    for _ in range(2):
        clock.advance(12 * HOUR)
        service.tick()
        service.host.on_stop_job_result(run_id, True)
        service.take_actions()
        clock.advance(HOUR)
        service.tick()
        starts = of_type(run_until_idle(service), StartJob)
        if starts:
            run_id = starts[-1].run_id
    status = next(iter(service.jobs.values()))
    assert status.internal_flags & INTERNAL_FLAG_DEMOTED_BY_SYSTEM_UIJ
    assert not status.treated_as_uij
    assert status.effective_priority == 400
    ctx = next(iter(service.running.values()))
    assert not ctx.user_visible
    assert (ctx.min_guarantee_ms, ctx.max_runtime_ms) == (10 * MIN, 30 * MIN)


def test_estimates_guarantee_with_bandwidth(clock: FakeClock) -> None:
    service = JobSchedulerService(
        clock=clock,
        settings=Settings(runtime_use_data_estimates_for_limits=True),
        device=DeviceState(network=NetworkState(downstream_kbps=8)),
        installed_memory_bytes=16 * GIB,
        apps={APP: make_app()},
    )
    bytes_8h = 8 * HOUR  # 8 kbps = 1 byte/ms
    run_id = started(service, uij(estimated_network_bytes=(bytes_8h, -1)))
    assert service.runs[run_id].min_guarantee_ms == int(8 * HOUR * 1.35)
    assert service.schedule(VISIBLE, None, uij(2)) == 1
