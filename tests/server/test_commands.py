"""Shell verbs (docs/android-semantics.md#shell-verbs) with Android's outputs, including the deferred ``run``."""

from __future__ import annotations

from server.helpers import APP, BACKGROUND, SERVICE, VISIBLE, of_type, regular, started, uij
from uidt.device.state import DeviceState, ThermalStatus
from uidt.job import InternalStopReason, StopReason
from uidt.server import CommandCompleted, JobSchedulerService, StartJob, StopJob
from uidt.testing import FakeClock, run_until_idle

NOT_FORCED = "has functional constraints but --force not specified"


def test_run_unknown_package_and_job(service: JobSchedulerService) -> None:
    r = service.commands.run("org.nope", None, 1)
    assert (r.code, r.error) == (-1000, "Package not found: org.nope / user 0")
    r = service.commands.run(APP, "ns", 1)
    assert (r.code, r.error) == (
        -1001,
        f"Could not find job 1 in package {APP} / namespace ns / user 0",
    )


def test_run_force_and_satisfied_together(service: JobSchedulerService) -> None:
    r = service.commands.run(APP, None, 1, force=True, satisfied=True)
    assert (r.code, r.error) == (-1, "Cannot specify both --force and --satisfied")


def test_run_soft_ignores_charging(service: JobSchedulerService) -> None:
    service.on_device_state(DeviceState(charging=False))
    service.schedule(BACKGROUND, None, regular(1, requires_charging=True))
    r = service.commands.run(APP, None, 1)
    assert (r.code, r.output) == (0, "Running job")
    assert of_type(run_until_idle(service), StartJob)


def test_run_satisfied_keeps_constraints(service: JobSchedulerService) -> None:
    service.on_device_state(DeviceState(charging=False))
    service.schedule(BACKGROUND, None, regular(1, requires_charging=True))
    r = service.commands.run(APP, None, 1, satisfied=True)
    assert r.code == -1002
    assert r.error.endswith(NOT_FORCED)


def test_run_force_ignores_connectivity(service: JobSchedulerService) -> None:
    service.on_device_state(DeviceState(network=None))
    service.schedule(BACKGROUND, None, regular(1))
    r = service.commands.run(APP, None, 1, force=True)
    assert (r.code, r.output) == (0, "Running job [FORCED]")
    run_until_idle(service)
    assert service.running
    # the override lasts for the run: no connectivity stop
    assert not of_type(service.take_actions(), StopJob)


def test_run_waits_for_connectivity_then_succeeds(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    service.on_device_state(DeviceState(network=None))
    service.schedule(BACKGROUND, None, regular(1))
    r = service.commands.run(APP, None, 1)
    assert r.token is not None
    assert service.next_wakeup() == clock.elapsed() + 5000
    clock.advance(2000)
    service.on_device_state(DeviceState())
    assert CommandCompleted(r.token, 0, "Running job") in service.take_actions()


def test_run_waits_for_connectivity_then_gives_up(
    service: JobSchedulerService, clock: FakeClock
) -> None:
    service.on_device_state(DeviceState(network=None))
    service.schedule(BACKGROUND, None, regular(1))
    r = service.commands.run(APP, None, 1)
    clock.advance(5000)
    service.tick()
    done = of_type(service.take_actions(), CommandCompleted)[0]
    assert (done.token, done.code) == (r.token, -1002)
    assert done.error.endswith(NOT_FORCED)


def test_run_with_other_constraint_missing_fails_at_once(service: JobSchedulerService) -> None:
    service.on_device_state(DeviceState(thermal=ThermalStatus.SEVERE, network=None))
    service.schedule(BACKGROUND, None, regular(1))
    assert service.commands.run(APP, None, 1).code == -1002


def test_stop_and_timeout(service: JobSchedulerService) -> None:
    assert service.commands.stop().output == "No matching executing jobs found."
    started(service)
    service.schedule(VISIBLE, "ns", uij(2))
    run_until_idle(service)
    assert service.commands.stop("org.other").output == "No matching executing jobs found."
    assert service.commands.stop(APP, "zz").output == "No matching executing jobs found."
    assert service.commands.stop(APP, None, 7).output == "No matching executing jobs found."
    r = service.commands.timeout(APP)
    assert r.output.splitlines() == [
        f"Stopping job: #{APP}/1 {SERVICE}",
        f"Stopping job: ns:{APP}/2 {SERVICE}",
    ]
    stops = of_type(service.take_actions(), StopJob)
    assert {(s.stop_reason, s.internal_reason) for s in stops} == {
        (StopReason.TIMEOUT, InternalStopReason.TIMEOUT)
    }


def test_cancel(service: JobSchedulerService) -> None:
    assert service.commands.cancel("org.nope").code == -1000
    assert service.commands.cancel("org.nope").error == "Package org.nope not found."
    assert service.commands.cancel(APP).output == "No matching jobs found."
    assert service.commands.cancel(APP, None, 3).output == "No matching job found."
    service.schedule(BACKGROUND, None, regular(3, requires_charging=True))
    service.schedule(BACKGROUND, "n", regular(4, requires_charging=True))
    assert service.commands.cancel(APP, None, 3).output == f"Canceling job {APP}/#3 in user 0"
    assert service.commands.cancel(APP).output == f"Canceling all jobs for {APP} in user 0"
    assert not service.jobs
    assert service.ended[-1]["stop_reason"] == StopReason.USER


def test_get_job_state(service: JobSchedulerService) -> None:
    assert service.commands.get_job_state(APP, None, 1).code == -1001
    service.on_device_state(DeviceState(charging=False))
    service.schedule(BACKGROUND, None, regular(1, requires_charging=True))
    assert service.commands.get_job_state(APP, None, 1).output == "waiting"
    started(service, uij(2))
    assert service.commands.get_job_state(APP, None, 2).output == "active ready"


def test_bytes_getters(service: JobSchedulerService) -> None:
    assert (
        service.commands.get_estimated_download_bytes("org.nope", None, 1).output
        == "unknown(org.nope)"
    )
    assert (
        service.commands.get_estimated_upload_bytes(APP, None, 1).output == f"unknown({APP}/jid1)"
    )
    service.schedule(VISIBLE, None, uij(1, estimated_network_bytes=(100, 50)))
    assert service.commands.get_estimated_download_bytes(APP, None, 1).output == "100"
    assert service.commands.get_transferred_upload_bytes(APP, None, 1).output == "0"
    run_id = started(service, uij(1, estimated_network_bytes=(100, 50)))
    service.host.on_update_estimated_bytes(run_id, 1000, 500)
    service.host.on_update_transferred_bytes(run_id, 10, 5)
    assert service.commands.get_estimated_download_bytes(APP, None, 1).output == "1000"
    assert service.commands.get_estimated_upload_bytes(APP, None, 1).output == "500"
    assert service.commands.get_transferred_download_bytes(APP, None, 1).output == "10"
    assert service.commands.get_transferred_upload_bytes(APP, None, 1).output == "5"
    snap = service.queries.jobs_snapshot(APP)[0]
    assert (snap["estimated_download_bytes"], snap["transferred_upload_bytes"]) == (1000, 5)


def test_device_getters(service: JobSchedulerService) -> None:
    assert service.commands.get_battery_charging().output == "true"
    assert service.commands.get_battery_not_low().output == "true"
    service.on_device_state(DeviceState(storage_low=True))
    assert service.commands.get_storage_not_low().output == "false"


def test_run_ignores_a_backoff_delay(service: JobSchedulerService) -> None:
    run_id = started(service)
    service.host.on_job_finished(run_id, True)  # 30 s backoff
    assert service.commands.run(APP, None, 1).output == "Running job"
    assert of_type(run_until_idle(service), StartJob)


def test_deferred_runs_complete_once() -> None:
    from uidt.job.key import JobKey
    from uidt.server.commands import DeferredRuns

    runs = DeferredRuns()
    a, b = JobKey(APP, None, 1), JobKey(APP, None, 2)
    first, second, third = runs.defer(a, 100), runs.defer(a, 200), runs.defer(b, 50)
    assert len({first, second, third}) == 3
    assert sorted(runs.deadlines()) == [50, 100, 200]
    assert runs.take_expired(60) == [(third, b)]
    assert runs.take_for(a) == [first, second]
    assert runs.take_for(a) == []
    assert not runs
