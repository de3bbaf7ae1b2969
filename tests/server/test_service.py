"""Beyond Android (docs/android-semantics.md#beyond-android): constraint updates, restart loading, snapshots, batching."""

from __future__ import annotations

import pytest

from server.helpers import APP, BACKGROUND, SERVICE, VISIBLE, of_type, regular, started, uij
from uidt.device.state import DeviceState
from uidt.errors import InvalidJobError
from uidt.job import JobInfo, JobWorkItem, NetworkRequest, NetworkType, PendingReason
from uidt.job.flags import INTERNAL_FLAG_DEMOTED_BY_USER
from uidt.job.key import JobKey
from uidt.server import JobSchedulerService, StartJob, StopJob
from uidt.store.record import JobRecord
from uidt.testing import FakeClock, run_until_idle


def test_update_constraints_on_a_queued_job(service: JobSchedulerService) -> None:
    service.on_device_state(DeviceState(charging=False))
    service.schedule(BACKGROUND, None, regular(1, requires_charging=True))
    assert service.queries.get_pending_job_reason(APP, None, 1) is PendingReason.CONSTRAINT_CHARGING
    service.update_constraints(APP, None, 1, requires_charging=False)
    assert of_type(run_until_idle(service), StartJob)


def test_update_constraints_on_a_running_job_stops_it(service: JobSchedulerService) -> None:
    started(service)
    service.note_app_visible(APP, False)
    service.on_device_state(DeviceState(charging=False))
    service.update_constraints(APP, None, 1, requires_charging=True)
    assert of_type(service.take_actions(), StopJob)


def test_update_constraints_errors(service: JobSchedulerService) -> None:
    with pytest.raises(InvalidJobError, match="no job"):
        service.update_constraints(APP, None, 1, requires_charging=True)
    service.schedule(VISIBLE, None, uij())
    with pytest.raises(InvalidJobError, match="cannot update"):
        service.update_constraints(APP, None, 1, priority=100)
    with pytest.raises(InvalidJobError):
        service.update_constraints(APP, None, 1, required_network=None)  # a UIJ needs a network
    service.update_constraints(APP, None, 1, required_network=NetworkRequest.Builder().build())


def test_load_restores_jobs_with_zero_failures(service: JobSchedulerService) -> None:
    job = uij(persisted=True)
    record = JobRecord(
        key=JobKey(APP, None, 1),
        job=job,
        num_failures=4,
        cumulative_runtime_ms=1234,
        internal_flags=INTERNAL_FLAG_DEMOTED_BY_USER,
        work_items=[JobWorkItem.create({"a": 1}).to_dict()],
    )
    service.load([record, record])
    status = service.jobs[record.key]
    assert (status.num_failures, status.cumulative_runtime_ms) == (0, 1234)
    assert not status.treated_as_uij
    assert [w.extras for w in status.work] == [{"a": 1}]
    start = of_type(run_until_idle(service), StartJob)[0]
    assert not start.params.is_user_initiated_job()
    assert start.work[0].extras == {"a": 1}


def test_snapshot_and_dump(service: JobSchedulerService, clock: FakeClock) -> None:
    service.on_device_state(DeviceState(charging=False))
    service.schedule(BACKGROUND, "n", regular(5, requires_charging=True))
    started(service)
    run_id = next(iter(service.runs))
    service.host.on_job_finished(run_id, True)
    snap = {(j["namespace"], j["job_id"]): j for j in service.queries.jobs_snapshot()}
    waiting = snap[("n", 5)]
    assert waiting["state"] == "waiting"
    assert waiting["pending_reasons"] == [PendingReason.CONSTRAINT_CHARGING]
    again = snap[(None, 1)]
    assert again["num_failures"] == 1
    assert again["earliest_run_time"].startswith("2026-01-01T")
    assert again["history"][0]["state"] == "scheduled"
    dump = service.queries.dump()
    assert set(dump) >= {"jobs", "notifications", "anrs", "device", "concurrency", "settings"}
    assert dump["concurrency"]["steady_limit"] == 40


def test_batch_runs_one_check_pass(service: JobSchedulerService) -> None:
    with service.batch():
        service.schedule(VISIBLE, None, uij(1))
        service.schedule(VISIBLE, None, uij(2))
        assert not service.running
    assert len(service.running) == 2


def test_next_wakeup_idle(service: JobSchedulerService) -> None:
    assert service.next_wakeup() is None
    service.schedule(BACKGROUND, None, regular(1))
    service.cancel(APP, None, 1)
    assert service.next_wakeup() is None


def test_ended_jobs_with_all(service: JobSchedulerService) -> None:
    run_id = started(service)
    service.host.on_job_finished(run_id, False)
    assert service.queries.jobs_snapshot() == []
    ended = service.queries.jobs_snapshot(APP, include_ended=True)
    assert [j["state"] for j in ended] == ["finished"]
    assert service.queries.jobs_snapshot("org.other", include_ended=True) == []


def test_reset_execution_quota(service: JobSchedulerService, clock: FakeClock) -> None:
    service.timeout_quota.note(APP, clock.elapsed())
    service.timeout_quota.note(APP, clock.elapsed())
    assert not service.timeout_quota.in_quota(APP, clock.elapsed())
    assert service.commands.reset_execution_quota(APP).code == 0
    assert service.timeout_quota.in_quota(APP, clock.elapsed())


def test_a_new_network_that_still_satisfies_the_job_is_announced_not_stopped(
    service: JobSchedulerService,
) -> None:
    from uidt.device.state import NetworkState
    from uidt.job.network import Transport
    from uidt.server import NetworkChanged

    # Given a job needing an unmetered network, running on Wi-Fi
    service.on_device_state(DeviceState(network=NetworkState(Transport.WIFI, name="wlan0")))
    run_id = started(service, uij_unmetered())
    service.take_actions()
    # When the default network becomes an unmetered Ethernet
    service.on_device_state(DeviceState(network=NetworkState(Transport.ETHERNET, name="eth0")))
    actions = service.take_actions()
    # Then the job keeps running and is told about its new network
    assert not of_type(actions, StopJob)
    changed = of_type(actions, NetworkChanged)
    assert [(c.run_id, c.network["transport"], c.network["name"]) for c in changed] == [
        (run_id, "ethernet", "eth0")
    ]
    # And a metered network instead stops it (no announcement)
    service.on_device_state(
        DeviceState(network=NetworkState(Transport.CELLULAR, metered=True, name="wwan0"))
    )
    actions = service.take_actions()
    assert of_type(actions, StopJob)
    assert not of_type(actions, NetworkChanged)
    # A capability change on the same network is not a new network
    service.on_device_state(
        DeviceState(network=NetworkState(Transport.CELLULAR, metered=False, name="wwan0"))
    )
    assert not of_type(service.take_actions(), NetworkChanged)


def uij_unmetered() -> JobInfo:
    return (
        JobInfo.Builder(1, SERVICE)
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.UNMETERED)
        .build()
    )


def test_host_facts_queries_and_shell_verbs_are_facets_not_core_methods(
    service: JobSchedulerService,
) -> None:
    from uidt.server.commands import ShellCommands
    from uidt.server.hosting import HostEvents
    from uidt.server.queries import Queries

    public = {name for name in dir(JobSchedulerService) if not name.startswith("_")}
    assert not {n for n in public if n.startswith(("cmd_", "get_"))}
    assert not public & {"jobs_snapshot", "dump", "can_run_user_initiated_jobs"}
    assert not public & {"insert", "maybe_check", "may_schedule_uij"}  # the core's own steps
    assert not {n for n in public if n.startswith("on_")} - {"on_device_state"}
    assert isinstance(service.host, HostEvents)
    assert isinstance(service.queries, Queries)
    assert isinstance(service.commands, ShellCommands)
    service.schedule(VISIBLE, None, uij(5))
    assert service.queries.get_pending_job(APP, None, 5) == uij(5)
    assert service.commands.get_job_state(APP, None, 5).code == 0


def test_minimum_latency_holds_a_job_until_it_passes(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    """``set_minimum_latency`` (AOSP's earliest run time at schedule): not before, at once after."""
    service.schedule(BACKGROUND, None, regular(1, minimum_latency=60_000))
    assert not of_type(run_until_idle(service), StartJob)
    assert service.queries.get_pending_job_reason(APP, None, 1) is (
        PendingReason.CONSTRAINT_MINIMUM_LATENCY
    )
    assert service.next_wakeup() == clock.elapsed() + 60_000
    clock.advance(59_999)
    service.tick()
    assert not of_type(run_until_idle(service), StartJob)
    clock.advance(1)
    service.tick()
    assert of_type(run_until_idle(service), StartJob)
