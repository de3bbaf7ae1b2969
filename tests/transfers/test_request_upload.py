"""An upload's own header fields and TLS choices; presigned PUT URLs get no field of uidt's."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from uidt.errors import RemoteError, ServerCertificateError
from uidt.testing.httpserver import Faults, RecordingSleep, TransferTestServer
from uidt.transfers.request import RequestOptions
from uidt.transfers.upload import TusPolicy, UploadMode, upload

TOKEN = "Bearer up-t0ken-77"


@pytest.fixture
def source(tmp_path: Path, payload: bytes) -> Path:
    path = tmp_path / "photo.raw"
    path.write_bytes(payload)
    return path


async def test_every_tus_request_carries_the_users_fields(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    server.set_faults("/files/", Faults(require_authorization=TOKEN))
    request = RequestOptions(headers=(("Authorization", TOKEN), ("X-Trace", "t1")))
    result = await upload(source, server.url("/files/"), request=request)
    assert result.mode is UploadMode.TUS
    assert bytes(next(iter(server.uploads.values()))) == payload
    assert [r.method for r in server.requests] == ["OPTIONS", "POST", "HEAD", "PATCH"]
    for seen in server.requests:
        assert seen.headers["authorization"] == TOKEN
        assert seen.headers["x-trace"] == "t1"


async def test_a_plain_put_carries_them_and_a_token_server_refuses_without(
    server: TransferTestServer, source: Path, payload: bytes, no_wait: RecordingSleep
) -> None:
    server.set_faults("/put/x", Faults(require_authorization=TOKEN))
    with pytest.raises(RemoteError, match="401"):
        await upload(source, server.url("/put/x"), sleep=no_wait)
    request = RequestOptions(headers=(("Authorization", TOKEN),))
    await upload(source, server.url("/put/x"), request=request)
    assert server.put_bodies["/put/x"] == payload


async def test_a_presigned_put_url_gets_no_field_that_would_break_its_signature(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    # /signed/ refuses (403) a PUT with any field beyond what the signature leaves out,
    # Content-Type included, as S3 does for a URL signed without one.
    url = server.url("/signed/bucket/photo.raw?X-Amz-Signature=abc&X-Amz-Expires=60")
    result = await upload(source, url, tus=TusPolicy.PREFER)
    assert result.mode is UploadMode.PLAIN
    assert server.put_bodies["/signed/bucket/photo.raw"] == payload
    put = server.requests[-1]
    assert put.method == "PUT"
    assert put.status == 201
    assert put.headers["content-length"] == str(len(payload))
    assert "content-type" not in put.headers
    assert "transfer-encoding" not in put.headers


async def test_the_signed_endpoint_does_refuse_an_unsigned_field(
    server: TransferTestServer, source: Path, no_wait: RecordingSleep
) -> None:
    request = RequestOptions(headers=(("Content-Type", "image/x-raw"),))
    with pytest.raises(RemoteError, match="403"):
        await upload(source, server.url("/signed/x"), request=request, sleep=no_wait)


async def test_uploads_trust_the_ca_file_or_skip_the_check_when_told(
    self_signed_tls: ssl.SSLContext,
    self_signed_cert: Path,
    source: Path,
    payload: bytes,
    no_wait: RecordingSleep,
) -> None:
    async with TransferTestServer(ssl_context=self_signed_tls) as tls:
        with pytest.raises(ServerCertificateError):
            await upload(source, tls.url("/files/"), sleep=no_wait)
        trusted = RequestOptions(cacert=str(self_signed_cert))
        assert (await upload(source, tls.url("/files/"), request=trusted)).mode is UploadMode.TUS
        insecure = RequestOptions(insecure=True)
        assert (await upload(source, tls.url("/put/y"), request=insecure)).size == len(payload)
        assert tls.put_bodies["/put/y"] == payload


async def test_an_upload_with_secrets_does_not_follow_a_redirect_nor_read_it_as_done(
    server: TransferTestServer, source: Path, no_wait: RecordingSleep
) -> None:
    async with TransferTestServer() as other:
        server.set_faults("/put/x", Faults(redirect_to=other.url("/put/x")))
        request = RequestOptions(headers=(("Authorization", TOKEN),))
        with pytest.raises(RemoteError, match="redirect") as caught:
            await upload(source, server.url("/put/x"), request=request, sleep=no_wait)
        assert other.requests == []  # the token went nowhere else
        assert other.put_bodies == {}
    assert "--location-trusted" in str(caught.value)
