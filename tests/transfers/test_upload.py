"""upload(): tus resume against the real loopback server, and the plain fallback."""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
from pathlib import Path

import pytest

from uidt.errors import RemoteError, ServerCertificateError
from uidt.testing.httpserver import Faults, RecordingSleep, TransferTestServer
from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.notices import Notice
from uidt.transfers.progress import Progress
from uidt.transfers.upload import (
    TusPolicy,
    TusUnsupportedError,
    UploadMode,
    upload,
    upload_checkpoint_path,
)

KiB = 1024


@pytest.fixture
def source(tmp_path: Path, payload: bytes) -> Path:
    path = tmp_path / "photo.raw"
    path.write_bytes(payload)
    return path


def _only_upload(server: TransferTestServer) -> bytes:
    assert len(server.uploads) == 1
    return bytes(next(iter(server.uploads.values())))


async def test_tus_upload_creates_and_patches(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    reports: list[Progress] = []
    estimates: list[int] = []
    result = await upload(
        source, server.url("/files/"), on_progress=reports.append, on_estimate=estimates.append
    )
    assert _only_upload(server) == payload
    assert result.mode is UploadMode.TUS
    assert result.url.startswith(server.url("/files/"))
    assert result.resumed_from == 0
    assert result.bytes_sent == len(payload)
    assert estimates == [len(payload)]
    assert reports[-1].done == len(payload)
    metadata = next(iter(server.upload_metadata.values()))
    assert metadata == "filename " + base64.b64encode(b"photo.raw").decode()
    assert not upload_checkpoint_path(source).exists()
    methods = [r.method for r in server.requests]
    assert methods == ["OPTIONS", "POST", "HEAD", "PATCH"]


async def test_tus_resumes_after_connection_reset(
    server: TransferTestServer, source: Path, payload: bytes, no_wait: RecordingSleep
) -> None:
    upload_path = "/files/1"
    server.set_faults(
        upload_path, Faults(reset_after=800 * KiB, times=4)
    )  # HEAD, PATCH, HEAD, PATCH
    result = await upload(source, server.url("/files/"), sleep=no_wait)
    assert _only_upload(server) == payload
    assert Notice.RETRIED in result.notices
    patches = [r for r in server.requests if r.method == "PATCH"]
    assert [p.start for p in patches] == [0, 800 * KiB, 1600 * KiB]
    assert server.bytes_sent(upload_path) == len(payload)


async def test_tus_resumes_after_cancel(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    server.set_faults("/files/1", Faults(drip_bps=4 * 1024 * 1024))
    task = asyncio.create_task(upload(source, server.url("/files/")))
    await asyncio.wait_for(server.wait_bytes_sent("/files/1", 1024 * KiB), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    saved = Checkpoint(upload_checkpoint_path(source)).load()
    assert saved is not None
    assert saved["upload_url"] == server.url("/files/1")
    server.set_faults("/files/1")
    result = await upload(source, server.url("/files/"))
    assert _only_upload(server) == payload
    assert result.resumed_from >= 1024 * KiB
    assert result.bytes_sent == len(payload) - result.resumed_from
    assert result.notices == (Notice.RESUMED,)


async def test_forgotten_upload_restarts(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    Checkpoint(upload_checkpoint_path(source)).save(
        {
            "version": 1,
            "kind": "upload",
            "url": server.url("/files/"),
            "upload_url": server.url("/files/999"),
            "size": len(payload),
            "mtime_ns": os.stat(source).st_mtime_ns,
        }
    )
    result = await upload(source, server.url("/files/"))
    assert _only_upload(server) == payload
    assert result.notices == (Notice.RESTARTED_UPLOAD_GONE,)


async def test_changed_source_does_not_resume_old_upload(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    Checkpoint(upload_checkpoint_path(source)).save(
        {"version": 1, "kind": "upload", "url": server.url("/files/"), "size": 1}
    )
    result = await upload(source, server.url("/files/"))
    assert _only_upload(server) == payload
    assert result.notices == (Notice.RESTARTED_BAD_CHECKPOINT,)


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_server_without_tus_gets_plain_request(
    server: TransferTestServer, source: Path, payload: bytes, method: str
) -> None:
    result = await upload(source, server.url("/put/photo.raw"), plain_method=method)
    assert server.put_bodies["/put/photo.raw"] == payload
    assert result.mode is UploadMode.PLAIN
    assert result.notices == (Notice.NO_TUS,)
    assert server.requests[-1].method == method


async def test_required_tus_against_a_plain_server_fails_and_sends_nothing(
    server: TransferTestServer, source: Path
) -> None:
    with pytest.raises(TusUnsupportedError, match="does not speak tus"):
        await upload(source, server.url("/put/photo.raw"), tus=TusPolicy.REQUIRE)
    assert server.put_bodies == {}
    assert [r.method for r in server.requests] == ["OPTIONS"]
    assert not upload_checkpoint_path(source).exists()


async def test_required_tus_against_a_tus_server_uploads(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    result = await upload(source, server.url("/files/"), tus=TusPolicy.REQUIRE)
    assert result.mode is UploadMode.TUS
    assert _only_upload(server) == payload


async def test_tus_disabled_falls_back(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    server.tus_enabled = False
    result = await upload(source, server.url("/files/"))
    assert result.mode is UploadMode.PLAIN
    assert server.put_bodies["/files/"] == payload


async def test_5xx_on_create_is_retried(
    server: TransferTestServer, source: Path, payload: bytes, no_wait: RecordingSleep
) -> None:
    server.set_faults("/files/", Faults(status=503, times=2))
    await upload(source, server.url("/files/"), sleep=no_wait)
    assert _only_upload(server) == payload
    assert len(no_wait.delays) == 2


async def test_permanent_refusal(
    server: TransferTestServer, source: Path, no_wait: RecordingSleep
) -> None:
    server.set_faults("/put/x", Faults(status=403))
    with pytest.raises(RemoteError, match="403"):
        await upload(source, server.url("/put/x"), sleep=no_wait)


async def test_a_server_whose_certificate_is_not_trusted_fails_the_upload_at_once(
    self_signed_tls: ssl.SSLContext, source: Path, no_wait: RecordingSleep
) -> None:
    async with TransferTestServer(ssl_context=self_signed_tls) as tls:
        url = tls.url("/files/").replace("https://", "https://ann:secret@")
        with pytest.raises(ServerCertificateError) as caught:
            await upload(source, url, sleep=no_wait)
        assert tls.requests == []
    assert str(caught.value).startswith(
        f"{url.replace('secret', '***')}: the server's certificate was not accepted: certificate verify failed: self"
    )
    assert no_wait.delays == []


async def test_empty_metadata_sends_no_header(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    await upload(source, server.url("/files/"), metadata={})
    assert _only_upload(server) == payload
    assert server.upload_metadata["1"] == ""
