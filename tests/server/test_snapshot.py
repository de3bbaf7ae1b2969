"""``uidt jobs --json``: a job that does not check the server's certificate says so."""

from __future__ import annotations

from server.helpers import VISIBLE, uij
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
