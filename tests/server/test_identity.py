"""Generations (which scheduling of a job) and attaching to the same job (uidt extensions)."""

from __future__ import annotations

from server.helpers import APP, VISIBLE, started, uij
from uidt.job import JobWorkItem
from uidt.job.key import JobKey
from uidt.server import JobSchedulerService
from uidt.server.identity import attachable, stored_generation
from uidt.server.records import job_record
from uidt.store.record import JobRecord

KEY = JobKey(APP, None, 1)


def generation(service: JobSchedulerService, job_id: int = 1) -> int:
    [job] = [j for j in service.queries.jobs_snapshot() if j["job_id"] == job_id]
    return int(job["generation"])


def test_every_scheduling_gets_a_new_generation(service: JobSchedulerService) -> None:
    service.schedule(VISIBLE, None, uij(1))
    first = generation(service)
    service.schedule(VISIBLE, None, uij(2))
    assert generation(service, 2) > first
    service.schedule(VISIBLE, None, uij(1, extras={"v": 2}))  # replaces job 1
    replaced = generation(service)
    assert replaced > generation(service, 2)
    assert service.ended[-1]["state"] == "cancelled"
    assert service.ended[-1]["generation"] == first


def test_work_added_to_the_same_job_keeps_its_generation(service: JobSchedulerService) -> None:
    job = uij(1)
    service.schedule(VISIBLE, None, job, JobWorkItem())
    before = generation(service)
    service.schedule(VISIBLE, None, job, JobWorkItem())
    assert generation(service) == before


def test_the_ended_record_keeps_the_generation(service: JobSchedulerService) -> None:
    run_id = started(service)
    gen = generation(service)
    service.host.on_job_finished(run_id, False)
    assert service.ended[-1]["generation"] == gen


def test_the_generation_survives_a_restart_and_later_ones_are_higher(
    service: JobSchedulerService,
) -> None:
    service.schedule(VISIBLE, None, uij(1))
    record = job_record(service, service.jobs[KEY])
    assert stored_generation(record) == generation(service)
    fresh = JobSchedulerService(
        clock=service.clock,
        settings=service.settings,
        device=service.device,
        installed_memory_bytes=service.installed_memory_bytes,
        apps=service.apps,
    )
    record.extra["generation"] = 41
    fresh.load([record])
    assert generation(fresh) == 41
    fresh.schedule(VISIBLE, None, uij(2))
    assert generation(fresh, 2) == 42


def test_a_bad_stored_generation_gets_a_new_one(service: JobSchedulerService) -> None:
    for bad in ("7", -3, True, None, 2.5):
        record = JobRecord(key=KEY, job=uij(1), extra={"generation": bad})
        assert stored_generation(record) == 0
    assert stored_generation(JobRecord(key=KEY, job=uij(1))) == 0


def test_attachable_only_to_the_same_job(service: JobSchedulerService) -> None:
    assert attachable(service, KEY, uij(1)) is None  # nothing scheduled
    service.schedule(VISIBLE, None, uij(1, extras={"url": "a"}))
    assert attachable(service, KEY, uij(1, extras={"url": "a"})) is not None
    assert attachable(service, KEY, uij(1, extras={"url": "b"})) is None


def test_not_attachable_once_the_user_stopped_the_app(service: JobSchedulerService) -> None:
    service.schedule(VISIBLE, None, uij(1))
    service.note_app_visible(APP, False)
    service.user_stop(APP)
    assert attachable(service, KEY, uij(1)) is None
