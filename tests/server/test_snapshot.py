"""``uidt jobs --json``: a job that does not check the server's certificate says so."""

from __future__ import annotations

from server.helpers import APP, VISIBLE, uij
from uidt.server import JobSchedulerService


def test_insecure_is_in_every_view_of_the_job(service: JobSchedulerService) -> None:
    service.schedule(VISIBLE, None, uij(1, extras={"request": {"insecure": True}}))
    service.schedule(VISIBLE, None, uij(2, extras={"request": {"cacert": "/ca.pem"}}))
    service.schedule(VISIBLE, None, uij(3, extras={"request": "odd", "insecure": True}))
    shown = {j["job_id"]: j["insecure"] for j in service.queries.jobs_snapshot()}
    assert shown == {1: True, 2: False, 3: False}
    assert [j["insecure"] for j in service.queries.dump()["jobs"]] == [True, False, False]
    service.schedule(VISIBLE, None, uij(1))  # replaces job 1: its ended record keeps the mark
    assert service.ended[-1]["insecure"] is True


def test_the_list_for_one_job_id_holds_only_its_records(service: JobSchedulerService) -> None:
    """What a follower asks for five times a second: its job, not the app's whole list with a
    hundred ended jobs (134 KB a poll, decoded by the command and encoded by the daemon)."""
    for job_id in (1, 2, 3):
        service.schedule(VISIBLE, None, uij(job_id))
    service.schedule(VISIBLE, None, uij(2))  # replaces job 2: an ended record of job 2
    service.schedule(VISIBLE, None, uij(3))
    mine = service.queries.jobs_snapshot(APP, include_ended=True, job_id=2)
    assert [j["job_id"] for j in mine] == [2, 2]
    assert mine == [
        j for j in service.queries.jobs_snapshot(APP, include_ended=True) if j["job_id"] == 2
    ]
    assert [j["job_id"] for j in service.queries.jobs_snapshot(job_id=3)] == [3]
    assert service.queries.jobs_snapshot(APP, include_ended=True, job_id=9) == []
