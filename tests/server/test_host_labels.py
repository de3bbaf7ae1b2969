"""A job whose required host labels this host lacks is kept, never run here (docs/fleet.md)."""

from __future__ import annotations

import dataclasses

from server.helpers import APP, GIB, SERVICE, VISIBLE, make_app
from uidt.device.state import DeviceState
from uidt.job import JobInfo, NetworkType, PendingReason
from uidt.job.key import JobKey
from uidt.server import JobSchedulerService, StartJob
from uidt.server.invariants import broken_invariants
from uidt.settings import Settings
from uidt.testing import AppBehaviour, FakeClock, InProcessApps, run_until_idle


def labelled(job_id: int, *labels: str) -> JobInfo:
    builder = (
        JobInfo.Builder(job_id, SERVICE)
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.ANY)
    )
    for label in labels:
        builder.add_required_host_label(label)
    return builder.build()


def host(*labels: str) -> JobSchedulerService:
    return JobSchedulerService(
        clock=FakeClock(),
        settings=dataclasses.replace(Settings(), host_labels=labels),
        device=DeviceState(),
        installed_memory_bytes=16 * GIB,
        apps={APP: make_app()},
    )


def run(service: JobSchedulerService) -> list[JobKey]:
    apps = InProcessApps(service, lambda _key: AppBehaviour())
    return [a.key for a in run_until_idle(service, apps) if isinstance(a, StartJob)]


def test_a_host_without_the_label_keeps_the_job_pending_with_that_reason() -> None:
    service = host("ssd")
    assert service.schedule(VISIBLE, None, labelled(1, "gpu-rack", "ssd")) == 1
    assert run(service) == []
    status = service.jobs[JobKey(APP, None, 1)]
    assert status.pending_reasons == (PendingReason.HOST_LABELS,)
    assert broken_invariants(service) == []


def test_a_host_with_every_label_runs_it_and_jobs_without_labels_run_anywhere() -> None:
    service = host("gpu-rack", "ssd")
    service.schedule(VISIBLE, None, labelled(1, "gpu-rack"))
    service.schedule(VISIBLE, None, labelled(2))
    assert sorted(run(service), key=str) == [JobKey(APP, None, 1), JobKey(APP, None, 2)]


def test_the_labels_are_in_the_jobs_json() -> None:
    from uidt.server.snapshot import job_snapshot

    service = host()
    service.schedule(VISIBLE, None, labelled(1, "gpu-rack"))
    service.schedule(VISIBLE, None, labelled(2))
    one, two = (job_snapshot(service, service.jobs[JobKey(APP, None, n)]) for n in (1, 2))
    assert one["required_host_labels"] == ["gpu-rack"]
    assert one["pending_reasons"] == [int(PendingReason.HOST_LABELS)]
    assert two["required_host_labels"] == []
