"""The download service's rate limits: the job's own ``limit_rate`` and the daemon's share."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from uidt.errors import TransferError
from uidt.job.params import JobParameters
from uidt.testing.httpserver import RecordingSleep, TransferTestServer
from uidt.testing.serviceconn import RecordingConnection
from uidt.transfers.extras import limit_rate
from uidt.transfers.jobs import download_job, upload_job
from uidt.transfers.retry import RetryPolicy
from uidt.transfers.service import HttpDownloadService

KiB = 1024


def _service() -> tuple[HttpDownloadService, RecordingConnection]:
    connection = RecordingConnection()
    service = HttpDownloadService()
    service.retry_policy = RetryPolicy(retries=2, link_retries=2)
    service.sleep = RecordingSleep()
    service.attach(connection)
    return service, connection


def test_the_jobs_carry_their_own_limit(tmp_path: Path) -> None:
    assert "limit_rate" not in download_job("http://127.0.0.1/f", tmp_path / "f").extras
    job = download_job("http://127.0.0.1/f", tmp_path / "f", limit_rate=2048)
    assert limit_rate(job.extras) == 2048
    source = tmp_path / "up.bin"
    source.write_bytes(b"x")
    assert upload_job(source, "http://127.0.0.1/u", limit_rate=512).extras["limit_rate"] == 512


@pytest.mark.parametrize("rate", ["2M", True, 0, -5, 1.5])
def test_a_bad_limit_in_the_job_is_a_clear_transfer_error(rate: Any) -> None:
    with pytest.raises(TransferError, match="bad rate limit in the job"):
        limit_rate({"limit_rate": rate})


async def test_a_job_with_a_bad_limit_fails_with_the_reason_and_fetches_nothing(
    server: TransferTestServer, tmp_path: Path
) -> None:
    server.add_file("/f.bin", b"data")
    service, connection = _service()
    params = JobParameters(
        job_id=1,
        extras={"url": server.url("/f.bin"), "dest": str(tmp_path / "f.bin"), "limit_rate": "2M"},
        user_initiated=True,
        run_id=1,
    )
    assert await service.on_start_job(params) is True
    await asyncio.wait_for(connection.ended.wait(), 30)
    [end] = connection.ends()
    assert "bad rate limit in the job: '2M'" in end["failure"]
    assert server.requests == []


async def test_the_share_given_at_start_holds_until_the_daemon_lifts_it(
    server: TransferTestServer, tmp_path: Path
) -> None:
    data = os.urandom(2048 * KiB)
    server.add_file("/f.bin", data)
    service, connection = _service()
    params = JobParameters(
        job_id=1,
        extras={"url": server.url("/f.bin"), "dest": str(tmp_path / "f.bin")},
        user_initiated=True,
        run_id=7,
    )
    params.bandwidth_limit = 32 * KiB  # as the worker sets it before on_start_job
    assert await service.on_start_job(params) is True
    await asyncio.sleep(0.3)
    assert not connection.ended.is_set()  # 2 MiB at 32 KiB/s: about a minute
    params.bandwidth_limit = None
    service.on_bandwidth_limit_changed(params)
    await asyncio.wait_for(connection.ended.wait(), 20)
    assert connection.ends() == [{"wants_reschedule": False}]
    assert (tmp_path / "f.bin").read_bytes() == data
    assert len([r for r in server.requests if r.method == "GET"]) == 1
