"""The download service on a shared store: a taken-over job says where it resumed, and a run
another host took over ends as neither a failure nor a success (docs/fleet.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from uidt.job.params import JobParameters
from uidt.testing.httpserver import RecordingSleep, TransferTestServer
from uidt.testing.serviceconn import RecordingConnection
from uidt.transfers.download import download
from uidt.transfers.fence import Fence, Lease
from uidt.transfers.retry import RetryPolicy
from uidt.transfers.service import HttpDownloadService

PATH = "/taken.bin"
DEADLINE_S = 20.0


def _params(dest: Path, url: str, generation: int, *, taken_over: bool) -> JobParameters:
    return JobParameters(
        job_id=1,
        extras={"url": url, "dest": str(dest)},
        user_initiated=True,
        run_id=1,
        host_id="h1",
        lease_generation=generation,
        taken_over=taken_over,
    )


async def _start(params: JobParameters) -> RecordingConnection:
    connection = RecordingConnection()
    service = HttpDownloadService()
    service.retry_policy = RetryPolicy(retries=2, link_retries=2)
    service.sleep = RecordingSleep()
    service.attach(connection)
    assert await service.on_start_job(params) is True
    return connection


async def _until(check: Any, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while not check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def _texts(connection: RecordingConnection) -> list[str]:
    return [
        str(args["notification"]["text"])
        for method, args in connection.calls
        if method == "set_notification"
    ]


async def test_a_taken_over_download_says_it_resumed_from_the_partial_file_on_shared_storage(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "taken.bin"
    server.add_file(PATH, payload)
    server.throttle(PATH, 512 * 1024)
    # the host that ran it before (h0) wrote part of it, then died
    first = asyncio.create_task(download(server.url(PATH), dest, fence=Fence(dest, Lease("h0", 3))))
    await _until(lambda: server.bytes_sent(PATH) > 256 * 1024, "h0 to write")
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    server.throttle(PATH, None)
    connection = await _start(_params(dest, server.url(PATH), 7, taken_over=True))
    await asyncio.wait_for(connection.ended.wait(), DEADLINE_S)
    assert dest.read_bytes() == payload
    final = _texts(connection)[-1]
    assert "taken over from another host: resumed from " in final
    assert final.endswith("(partial file on shared storage)")


async def test_a_taken_over_download_without_a_visible_partial_file_says_it_started_again(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "taken.bin"
    server.add_file(PATH, payload)
    connection = await _start(_params(dest, server.url(PATH), 7, taken_over=True))
    await asyncio.wait_for(connection.ended.wait(), DEADLINE_S)
    assert dest.read_bytes() == payload
    assert _texts(connection)[-1].endswith(
        "taken over from another host: started again (the partial file is not visible here)"
    )


async def test_a_run_of_this_host_that_is_not_a_takeover_says_nothing_of_the_kind(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "mine.bin"
    server.add_file(PATH, payload)
    connection = await _start(_params(dest, server.url(PATH), 7, taken_over=False))
    await asyncio.wait_for(connection.ended.wait(), DEADLINE_S)
    assert "taken over" not in _texts(connection)[-1]


async def test_a_run_another_host_took_over_does_not_fail_and_asks_to_run_again_later(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "lost.bin"
    server.add_file(PATH, payload)
    Fence(dest, Lease("h2", 9)).raise_fence()  # h2 holds the job now
    connection = await _start(_params(dest, server.url(PATH), 7, taken_over=False))
    await asyncio.wait_for(connection.ended.wait(), DEADLINE_S)
    assert any("h2 took this transfer over" in text for text in _texts(connection))
    ends = [(m, args) for m, args in connection.calls if m in ("job_failed", "job_finished")]
    # never "failed": its daemon forgets it once it learns the lease is gone (or, were the lease
    # still its own, it runs again after the backoff)
    assert ends == [("job_finished", {"wants_reschedule": True})]
    assert server.bytes_sent(PATH) == 0
