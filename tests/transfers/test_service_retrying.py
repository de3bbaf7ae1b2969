"""A transfer that retries says so, and why, from its first failed attempt (issue 15): the
notification of the download and upload services, against the real loopback server, a closed
port and the project's recording proxy. The in-run sleep is injected and looks at what the job
shows while it waits; nothing here sleeps."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from uidt.job.params import JobParameters
from uidt.testing.httpserver import Faults, TransferTestServer
from uidt.testing.proxyserver import RecordingProxy
from uidt.testing.serviceconn import RecordingConnection
from uidt.transfers.proxy import ProxySettings
from uidt.transfers.request import RequestOptions
from uidt.transfers.retry import RetryPolicy
from uidt.transfers.service import HttpDownloadService, HttpUploadService, _TransferService


class LookingSleep:
    """The in-run sleep: returns at once, and keeps the notification shown at each wait."""

    def __init__(self, connection: RecordingConnection) -> None:
        self.connection = connection
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, seconds: float) -> None:
        self.seen.append(self.connection.last_notification())


async def _run(
    service: _TransferService, extras: dict[str, Any], *, link_retries: int = 3
) -> tuple[RecordingConnection, LookingSleep]:
    connection = RecordingConnection()
    sleep = LookingSleep(connection)
    service.retry_policy = RetryPolicy(retries=2, link_retries=link_retries)
    service.sleep = sleep
    service.attach(connection)
    params = JobParameters(job_id=7, extras=extras, user_initiated=True, run_id=1)
    assert await service.on_start_job(params) is True
    await asyncio.wait_for(connection.ended.wait(), 30)
    return connection, sleep


async def _closed_port() -> int:
    async with TransferTestServer() as gone:
        return gone.port


def _texts(connection: RecordingConnection) -> list[str]:
    notes = [args for method, args in connection.calls if method == "set_notification"]
    return [str(note["notification"]["text"]) for note in notes]


async def test_a_closed_port_says_retrying_and_why_at_the_first_wait(tmp_path: Path) -> None:
    port = await _closed_port()
    extras = {"url": f"http://127.0.0.1:{port}/x", "dest": str(tmp_path / "x")}
    connection, sleep = await _run(HttpDownloadService(), extras)
    expected = f"retrying: cannot reach 127.0.0.1:{port} (connection refused)"
    first = sleep.seen[0]  # what the job showed while it waited after its first failure
    assert first["text"] == expected
    assert first["title"] == "Download x"
    assert first["ongoing"] is True
    assert [note["text"] for note in sleep.seen] == [expected] * 3
    # the same reason again is no news: posted once, not once per attempt
    assert _texts(connection).count(expected) == 1
    end = connection.last_notification()
    assert end["title"] == "Download x waiting to retry"
    assert (
        end["text"]
        == f"retrying: {extras['url']}: cannot reach 127.0.0.1:{port} (connection refused)"
    )


async def test_a_proxy_that_refuses_is_named_at_the_first_wait(tmp_path: Path) -> None:
    with RecordingProxy() as proxy:
        proxy_port = proxy.port
    port = await _closed_port()
    request = RequestOptions(proxy=ProxySettings(proxy=f"http://127.0.0.1:{proxy_port}"))
    extras = {
        "url": f"http://127.0.0.1:{port}/a",
        "dest": str(tmp_path / "a"),
        "request": request.to_extras(),
    }
    connection, sleep = await _run(HttpDownloadService(), extras)
    expected = f"retrying: the proxy 127.0.0.1:{proxy_port} refused the connection"
    assert sleep.seen[0]["text"] == expected
    assert connection.last_notification()["text"].endswith(expected[len("retrying: ") :])


async def test_a_server_that_fails_then_works_goes_back_to_progress_byte_exact(
    server: TransferTestServer, tmp_path: Path, payload: bytes
) -> None:
    server.add_file("/f.bin", payload)
    server.set_faults("/f.bin", Faults(status=503, times=2))
    dest = tmp_path / "f.bin"
    extras = {"url": server.url("/f.bin"), "dest": str(dest)}
    connection, sleep = await _run(HttpDownloadService(), extras)
    assert connection.ends() == [{"wants_reschedule": False}]
    assert dest.read_bytes() == payload
    retrying = "retrying: the server answered HTTP 503 Service Unavailable"
    assert [note["text"] for note in sleep.seen] == [retrying, retrying]
    texts = _texts(connection)
    after = texts[texts.index(retrying) + 1 :]
    assert after  # progress came after the retries, then the end
    assert not any(text.startswith("retrying:") for text in after)
    assert connection.last_notification()["title"] == "Download f.bin complete"


async def test_a_password_in_the_url_never_shows_while_retrying(tmp_path: Path) -> None:
    port = await _closed_port()
    url = f"http://ann:s3cret-pw@127.0.0.1:{port}/x"
    with RecordingProxy() as proxy:
        proxy_port = proxy.port
    request = RequestOptions(
        proxy=ProxySettings(proxy=f"http://bob:pr0xy-pw@127.0.0.1:{proxy_port}")
    )
    for extras in (
        {"url": url, "dest": str(tmp_path / "x")},
        {"url": url, "dest": str(tmp_path / "y"), "request": request.to_extras()},
    ):
        connection, sleep = await _run(HttpDownloadService(), extras)
        assert sleep.seen[0]["text"].startswith("retrying: ")
        recorded = json.dumps(connection.calls)
        assert "s3cret-pw" not in recorded
        assert "pr0xy-pw" not in recorded


async def test_an_upload_to_a_closed_port_says_retrying_at_the_first_wait(
    tmp_path: Path,
) -> None:
    port = await _closed_port()
    source = tmp_path / "photo.raw"
    source.write_bytes(b"p" * 1000)
    extras = {
        "url": f"http://127.0.0.1:{port}/files/",
        "source": str(source),
        "tus": False,
        "method": "PUT",
    }
    connection, sleep = await _run(HttpUploadService(), extras)
    expected = f"retrying: cannot reach 127.0.0.1:{port} (connection refused)"
    assert sleep.seen[0]["text"] == expected
    assert sleep.seen[0]["title"] == "Upload photo.raw"
    assert connection.last_notification()["title"] == "Upload photo.raw waiting to retry"
