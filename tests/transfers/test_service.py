"""HttpDownloadService and HttpUploadService against the loopback server: how a run ends
(job_finished, with or without a reschedule, or job_failed)."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from pathlib import Path
from typing import Any

import pytest

from uidt.errors import TransferError
from uidt.job.params import JobParameters
from uidt.testing.clock import FakeClock
from uidt.testing.httpserver import Faults, RecordingSleep, RequestRecord, TransferTestServer
from uidt.testing.serviceconn import RecordingConnection
from uidt.transfers.extras import segment_rule, speed_rule
from uidt.transfers.jobs import download_job
from uidt.transfers.partfile import PartFile, part_path
from uidt.transfers.patience import MAX_IDLE_RUNS, patience_path, upload_patience_path
from uidt.transfers.retry import RetryPolicy
from uidt.transfers.segments import MIN_SPLIT_SIZE
from uidt.transfers.service import HttpDownloadService, HttpUploadService
from uidt.transfers.speedfloor import LOWEST_SPEED, LOWEST_SPEED_SECONDS
from uidt.transfers.upload import upload_checkpoint_path


async def _run(
    url: str,
    dest: Path,
    *,
    run_id: int = 1,
    sleep: RecordingSleep | None = None,
    **extras: Any,
) -> RecordingConnection:
    """One run of the download job, with in-run retries that are few and do not wait."""
    connection = RecordingConnection()
    service = HttpDownloadService()
    service.retry_policy = RetryPolicy(retries=2, link_retries=2)
    service.sleep = sleep if sleep is not None else RecordingSleep()
    service.attach(connection)
    params = JobParameters(
        job_id=1,
        extras={"url": url, "dest": str(dest), **extras},
        user_initiated=True,
        run_id=run_id,
    )
    assert await service.on_start_job(params) is True
    await asyncio.wait_for(connection.ended.wait(), 30)
    return connection


async def test_a_complete_download_finishes_without_a_failure(
    server: TransferTestServer, tmp_path: Path, payload: bytes
) -> None:
    server.add_file("/f.bin", payload)
    connection = await _run(server.url("/f.bin"), tmp_path / "f.bin")
    assert connection.ends() == [{"wants_reschedule": False}]
    assert connection.last_notification()["title"] == "Download f.bin complete"


async def test_a_complete_download_reports_its_last_count_once_then_ends(
    server: TransferTestServer, tmp_path: Path, payload: bytes
) -> None:
    """Between the last byte and the end the daemon is told the complete count once (with its
    progress notification), then "complete", then the end: each message is a flush of the
    daemon and a store commit on the way to the command's exit, so none is sent twice."""
    server.add_file("/f.bin", payload)
    connection = await _run(server.url("/f.bin"), tmp_path / "f.bin")
    complete = [
        args
        for method, args in connection.calls
        if method == "update_transferred_bytes" and args["download"] == len(payload)
    ]

    assert len(complete) == 1
    tail = [method for method, _ in connection.calls][-4:]
    assert tail == [
        "update_transferred_bytes",
        "set_notification",
        "set_notification",
        "job_finished",
    ]
    assert connection.last_notification()["progress"] == 1.0


async def test_a_404_fails_the_job_with_the_reason(
    server: TransferTestServer, tmp_path: Path
) -> None:
    connection = await _run(server.url("/missing.bin"), tmp_path / "m.bin")
    [end] = connection.ends()
    assert end["wants_reschedule"] is False
    assert "404" in end["failure"]
    note = connection.last_notification()
    assert note["title"] == "Download m.bin failed"
    assert note["text"] == end["failure"]
    assert note["ongoing"] is False
    assert not (tmp_path / "m.bin").exists()


async def test_a_server_that_lies_about_the_content_fails_the_sha256_check(
    server: TransferTestServer, tmp_path: Path, payload: bytes
) -> None:
    server.add_file("/f.bin", payload)
    wrong = hashlib.sha256(payload + b"x").hexdigest()
    connection = await _run(server.url("/f.bin"), tmp_path / "f.bin", sha256=wrong)
    [end] = connection.ends()
    assert "SHA-256" in end["failure"] or "sha256" in end["failure"].lower()
    assert not (tmp_path / "f.bin").exists()


async def test_a_refusing_server_fails_the_job(server: TransferTestServer, tmp_path: Path) -> None:
    server.add_file("/f.bin", b"x" * 100)
    server.set_faults("/f.bin", Faults(status=403))
    connection = await _run(server.url("/f.bin"), tmp_path / "f.bin")
    [end] = connection.ends()
    assert "403" in end["failure"]


async def test_a_busy_server_reschedules_the_run_instead_of_failing_it(
    server: TransferTestServer, tmp_path: Path, payload: bytes
) -> None:
    server.add_file("/f.bin", payload)
    server.set_faults("/f.bin", Faults(status=429, retry_after="1"))
    dest = tmp_path / "f.bin"
    connection = await _run(server.url("/f.bin"), dest)
    assert connection.ends() == [{"wants_reschedule": True}]  # the scheduler's backoff
    note = connection.last_notification()
    assert note["title"] == "Download f.bin waiting to retry"
    assert note["text"].startswith("retrying: ")
    assert "HTTP 429 Too Many Requests" in note["text"]
    assert note["ongoing"] is False
    assert not dest.exists()
    # the next run, once the trouble has passed, finishes and leaves nothing behind
    server.set_faults("/f.bin", None)
    connection = await _run(server.url("/f.bin"), dest, run_id=2)
    assert connection.ends() == [{"wants_reschedule": False}]
    assert dest.read_bytes() == payload
    assert not patience_path(dest).exists()


async def test_a_dead_server_fails_the_job_at_last_with_a_clear_reason(tmp_path: Path) -> None:
    async with TransferTestServer() as gone:
        url = gone.url("/f.bin")
    dest = tmp_path / "f.bin"
    for run_id in range(1, MAX_IDLE_RUNS + 1):
        connection = await _run(url, dest, run_id=run_id)
        assert connection.ends() == [{"wants_reschedule": True}], run_id
    connection = await _run(url, dest, run_id=MAX_IDLE_RUNS + 1)
    [end] = connection.ends()
    assert end["wants_reschedule"] is False
    assert "cannot reach" in end["failure"]
    assert f"still failing after {MAX_IDLE_RUNS + 1} runs" in end["failure"]
    assert connection.last_notification()["title"] == "Download f.bin failed"
    assert not patience_path(dest).exists()


async def test_a_server_whose_certificate_is_not_trusted_fails_the_job_at_once(
    self_signed_tls: ssl.SSLContext, tmp_path: Path
) -> None:
    dest, sleep = tmp_path / "f.bin", RecordingSleep()
    async with TransferTestServer(ssl_context=self_signed_tls) as tls:
        tls.add_file("/f.bin", b"x" * 1000)
        url = tls.url("/f.bin").replace("https://", "https://ann:secret@")
        connection = await _run(url, dest, sleep=sleep)
        assert tls.requests == []  # the handshake failed: no request was sent
    [end] = connection.ends()
    assert end["wants_reschedule"] is False
    assert end["failure"].startswith(
        f"{url.replace('secret', '***')}: the server's certificate was not accepted: "
        "certificate verify failed: self"
    )
    assert "self-signed" in end["failure"] or "self signed" in end["failure"]
    assert sleep.delays == []  # failed on the first attempt, without a retry
    note = connection.last_notification()
    assert (note["title"], note["text"]) == ("Download f.bin failed", end["failure"])
    assert not dest.exists()
    assert not patience_path(dest).exists()
    assert not part_path(dest).exists()


async def test_a_permanent_error_after_waiting_fails_at_once(
    server: TransferTestServer, tmp_path: Path, payload: bytes
) -> None:
    server.add_file("/f.bin", payload)
    server.set_faults("/f.bin", Faults(status=503))
    dest = tmp_path / "f.bin"
    await _run(server.url("/f.bin"), dest)
    assert patience_path(dest).exists()
    server.set_faults("/f.bin", Faults(status=410))
    [end] = (await _run(server.url("/f.bin"), dest, run_id=2)).ends()
    assert "410" in end["failure"]
    assert not patience_path(dest).exists()


async def test_a_second_writer_does_not_erase_the_count_of_the_job_that_waits(
    server: TransferTestServer, tmp_path: Path, payload: bytes
) -> None:
    server.add_file("/f.bin", payload)
    server.set_faults("/f.bin", Faults(status=503))
    dest = tmp_path / "f.bin"
    await _run(server.url("/f.bin"), dest)
    assert patience_path(dest).exists()
    holder = PartFile(dest, server.url("/f.bin"), hashing=False, clock=FakeClock())
    holder.lock()  # another transfer writes the destination meanwhile
    try:
        [end] = (await _run(server.url("/f.bin"), dest, run_id=2)).ends()
    finally:
        holder.release()
    assert "another transfer is writing" in end["failure"]
    assert patience_path(dest).exists()


async def test_a_count_that_cannot_be_kept_fails_the_job_rather_than_loop(
    server: TransferTestServer, tmp_path: Path, payload: bytes
) -> None:
    server.add_file("/f.bin", payload)
    server.set_faults("/f.bin", Faults(status=503))
    dest = tmp_path / "f.bin"
    patience_path(dest).mkdir()  # something that is not a count stands in its place
    [end] = (await _run(server.url("/f.bin"), dest)).ends()
    assert end["wants_reschedule"] is False
    assert "kept answering HTTP 503" in end["failure"]
    assert "cannot record the retry" in end["failure"]


def test_the_engine_defaults_apply_unless_given(tmp_path: Path) -> None:
    plain = download_job("http://127.0.0.1/f", tmp_path / "f")
    assert "lowest_speed" not in plain.extras
    assert speed_rule(plain.extras) == (LOWEST_SPEED, LOWEST_SPEED_SECONDS)
    given = download_job(
        "http://127.0.0.1/f", tmp_path / "f", lowest_speed=0, lowest_speed_seconds=5
    )
    assert speed_rule(given.extras) == (0, 5.0)


@pytest.mark.parametrize(
    "extras",
    [
        {"lowest_speed": "fast"},
        {"lowest_speed": True},
        {"lowest_speed": 1.5},
        {"lowest_speed_seconds": "soon"},
        {"lowest_speed_seconds": None},
    ],
)
def test_garbage_in_the_job_is_a_clear_transfer_error(extras: dict[str, Any]) -> None:
    with pytest.raises(TransferError, match="bad lowest-speed rule"):
        speed_rule(extras)


def test_the_split_rule_defaults_to_one_connection(tmp_path: Path) -> None:
    plain = download_job("http://127.0.0.1/f", tmp_path / "f")
    assert segment_rule(plain.extras) == (1, MIN_SPLIT_SIZE)
    given = download_job("http://127.0.0.1/f", tmp_path / "f", split=4, min_split_size=1 << 20)
    assert segment_rule(given.extras) == (4, 1 << 20)
    auto = download_job("http://127.0.0.1/f", tmp_path / "f", split="auto")
    assert segment_rule(auto.extras) == ("auto", MIN_SPLIT_SIZE)


@pytest.mark.parametrize(
    ("extras", "message"),
    [
        ({"split": 0}, "split is 1 to 16"),
        ({"split": True}, "split is 1 to 16"),
        ({"split": "many"}, "split is 1 to 16"),
        ({"min_split_size": 0}, "bad min_split_size"),
        ({"min_split_size": "1M"}, "bad min_split_size"),
    ],
)
def test_a_bad_split_rule_in_the_job_is_a_clear_transfer_error(
    extras: dict[str, Any], message: str
) -> None:
    with pytest.raises(TransferError, match=message):
        segment_rule(extras)


async def test_a_job_with_split_downloads_over_several_connections(
    server: TransferTestServer, tmp_path: Path, payload: bytes
) -> None:
    server.add_file("/f.bin", payload)
    connection = await _run(
        server.url("/f.bin"), tmp_path / "f.bin", split=3, min_split_size=1024 * 1024
    )
    assert connection.ends() == [{"wants_reschedule": False}]
    assert (tmp_path / "f.bin").read_bytes() == payload
    assert len([r for r in server.requests if r.method == "GET"]) == 3


# -- HttpUploadService ------------------------------------------------------------------------

MiB = 1024 * 1024


async def _run_upload(url: str, source: Path, *, run_id: int = 1) -> RecordingConnection:
    """One run of the upload job, with in-run retries that are few and do not wait."""
    connection = RecordingConnection()
    service = HttpUploadService()
    service.retry_policy = RetryPolicy(retries=2, link_retries=2)
    service.sleep = RecordingSleep()
    service.attach(connection)
    params = JobParameters(
        job_id=2,
        extras={"url": url, "source": str(source), "tus": False, "method": "PUT"},
        user_initiated=True,
        run_id=run_id,
    )
    assert await service.on_start_job(params) is True
    await asyncio.wait_for(connection.ended.wait(), 30)
    return connection


@pytest.fixture
def source(tmp_path: Path, payload: bytes) -> Path:
    path = tmp_path / "photo.raw"
    path.write_bytes(payload)
    return path


async def test_an_upload_used_up_by_a_busy_server_waits_then_resumes_at_the_servers_offset(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    # The first PATCH is cut after 1 MiB; then every PATCH gets 503 (HEAD still answers).
    server.set_faults("/files/1", Faults(reset_after=MiB, times=2))

    def busy_once_it_holds_a_mib(record: RequestRecord) -> None:
        if record.method == "HEAD" and server.bytes_sent("/files/1") == MiB:
            server.set_faults("/files/1", Faults(status=503, methods=frozenset({"PATCH"})))

    server.on_request = busy_once_it_holds_a_mib
    connection = await _run_upload(server.url("/files/"), source)
    assert connection.ends() == [{"wants_reschedule": True}]  # the scheduler's backoff
    note = connection.last_notification()
    assert note["title"] == "Upload photo.raw waiting to retry"
    assert note["text"].startswith("retrying: ")
    assert "HTTP 503 Service Unavailable" in note["text"]
    assert note["ongoing"] is False
    assert upload_patience_path(source).exists()
    assert upload_checkpoint_path(source).exists()  # the next run resumes the same upload

    server.on_request = None
    server.set_faults("/files/1", None)
    connection = await _run_upload(server.url("/files/"), source, run_id=2)
    assert connection.ends() == [{"wants_reschedule": False}]
    assert connection.last_notification()["title"] == "Upload photo.raw complete"
    assert bytes(server.uploads["1"]) == payload
    assert server.bytes_sent("/files/1") == len(payload)  # no acknowledged byte sent again
    assert len(server.uploads) == 1
    assert not upload_patience_path(source).exists()
    assert not upload_checkpoint_path(source).exists()


async def test_a_dead_upload_server_fails_the_job_at_last_with_a_clear_reason(
    source: Path,
) -> None:
    async with TransferTestServer() as gone:
        url = gone.url("/files/")
    for run_id in range(1, MAX_IDLE_RUNS + 1):
        connection = await _run_upload(url, source, run_id=run_id)
        assert connection.ends() == [{"wants_reschedule": True}], run_id
        assert connection.last_notification()["title"] == "Upload photo.raw waiting to retry"
    connection = await _run_upload(url, source, run_id=MAX_IDLE_RUNS + 1)
    [end] = connection.ends()
    assert end["wants_reschedule"] is False
    assert "cannot reach" in end["failure"]
    assert f"still failing after {MAX_IDLE_RUNS + 1} runs" in end["failure"]
    assert connection.last_notification()["title"] == "Upload photo.raw failed"
    assert not upload_patience_path(source).exists()


async def test_an_upload_to_a_lying_server_fails_and_never_reads_complete(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    server.set_faults("/files/1", Faults(offset_delta=len(payload)))
    [end] = (await _run_upload(server.url("/files/"), source)).ends()
    assert end["wants_reschedule"] is False
    assert "only 0 were sent" in end["failure"]


async def test_a_jobs_headers_reach_the_server_and_no_secret_reaches_the_reason(
    server: TransferTestServer, tmp_path: Path, payload: bytes
) -> None:
    token = "Bearer srv-s3cret-0042"
    server.add_file("/f.bin", payload)
    server.set_faults("/f.bin", Faults(require_authorization="Bearer another"))
    request = {"headers": [["Authorization", token]]}
    connection = await _run(server.url("/f.bin"), tmp_path / "f.bin", request=request)
    assert server.requests[0].headers["authorization"] == token
    [end] = connection.ends()
    assert "401" in end["failure"]
    assert token not in str(connection.calls)
    server.set_faults("/f.bin", Faults(require_authorization=token))
    done = await _run(server.url("/f.bin"), tmp_path / "f.bin", request=request, run_id=2)
    assert done.ends() == [{"wants_reschedule": False}]


async def test_an_error_that_quotes_a_secret_is_shown_redacted(
    server: TransferTestServer, tmp_path: Path
) -> None:
    # The file name carries the token (an app could build it from one): the reason says 404
    # with the URL, and the token is masked there too.
    token = "tok-in-the-path-77"
    request = {"headers": [["Authorization", f"Bearer {token}"]]}
    connection = await _run(server.url(f"/{token}.bin"), tmp_path / "f.bin", request=request)
    [end] = connection.ends()
    assert "404" in end["failure"]
    assert "<redacted>" in end["failure"]
    assert token not in str(connection.calls)


async def test_an_insecure_job_says_so_in_its_notification(
    self_signed_tls: ssl.SSLContext, tmp_path: Path
) -> None:
    async with TransferTestServer(ssl_context=self_signed_tls) as tls:
        tls.add_file("/f.bin", b"x" * 1000)
        connection = await _run(tls.url("/f.bin"), tmp_path / "f.bin", request={"insecure": True})
    assert connection.ends() == [{"wants_reschedule": False}]
    texts = [a["notification"]["text"] for m, a in connection.calls if m == "set_notification"]
    assert texts
    assert all(text.startswith("INSECURE (certificate not checked)") for text in texts)


async def test_malformed_request_options_fail_the_job_with_a_reason(tmp_path: Path) -> None:
    connection = await _run(
        "http://127.0.0.1:9/f.bin", tmp_path / "f.bin", request={"headers": [["Range", "x"]]}
    )
    [end] = connection.ends()
    assert "set by uidt itself" in end["failure"]
