"""A download's own header fields and TLS choices, on both readers, against real servers.

The loopback test server records each request's fields, so these tests see what went out:
the user's fields on the splice reader and on ``aiohttp``, the secret ones kept from another
origin a redirect leads to (another port of 127.0.0.1 is another origin), and certificates.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from uidt.errors import RemoteError, ServerCertificateError
from uidt.testing.httpserver import Faults, RecordingSleep, TransferTestServer
from uidt.transfers.credentials import basic_authorization
from uidt.transfers.download import download
from uidt.transfers.request import RequestOptions

TOKEN = "Bearer tok-5ecret-9d1f"
DATA = b"0123456789" * 5000

BOTH_READERS = pytest.mark.parametrize("raw_http", [True, False], ids=["splice", "aiohttp"])


def _with(*headers: tuple[str, str], **kwargs: object) -> RequestOptions:
    return RequestOptions(headers=headers, **kwargs)  # type: ignore[arg-type]


@BOTH_READERS
async def test_the_users_fields_reach_the_server(
    server: TransferTestServer, tmp_path: Path, raw_http: bool
) -> None:
    server.add_file("/f.bin", DATA)
    request = _with(("Authorization", TOKEN), ("X-Trace", "abc"), ("User-Agent", "mine/1.0"))
    dest = tmp_path / "f.bin"
    await download(server.url("/f.bin"), dest, raw_http=raw_http, request=request)
    assert dest.read_bytes() == DATA
    [seen] = server.requests
    assert seen.headers["authorization"] == TOKEN
    assert seen.headers["x-trace"] == "abc"
    assert seen.headers["user-agent"] == "mine/1.0"  # replaces the reader's own, not added


@BOTH_READERS
async def test_a_server_that_wants_a_token(
    server: TransferTestServer, tmp_path: Path, raw_http: bool, no_wait: RecordingSleep
) -> None:
    server.add_file("/f.bin", DATA)
    server.set_faults("/f.bin", Faults(require_authorization=TOKEN))
    with pytest.raises(RemoteError, match="401"):
        await download(server.url("/f.bin"), tmp_path / "a", raw_http=raw_http, sleep=no_wait)
    request = _with(("Authorization", TOKEN))
    await download(server.url("/f.bin"), tmp_path / "b", raw_http=raw_http, request=request)
    assert (tmp_path / "b").read_bytes() == DATA


@BOTH_READERS
async def test_a_resume_sends_the_users_fields_with_the_range(
    server: TransferTestServer, tmp_path: Path, raw_http: bool, no_wait: RecordingSleep
) -> None:
    server.add_file("/f.bin", DATA)
    server.set_faults("/f.bin", Faults(reset_after=10_000, times=1))
    request = _with(("Authorization", TOKEN))
    await download(
        server.url("/f.bin"), tmp_path / "f", raw_http=raw_http, request=request, sleep=no_wait
    )
    assert (tmp_path / "f").read_bytes() == DATA
    assert [r.headers.get("authorization") for r in server.requests] == [TOKEN, TOKEN]
    assert server.requests[1].range is not None


async def test_a_field_given_wins_over_the_urls_password(
    server: TransferTestServer, tmp_path: Path
) -> None:
    server.add_file("/f.bin", DATA)
    url = server.url("/f.bin").replace("http://", "http://ann:pw@")
    for raw_http in (True, False):
        dest = tmp_path / f"f{raw_http}"
        await download(url, dest, raw_http=raw_http, request=_with(("Authorization", TOKEN)))
        assert server.requests[-1].headers["authorization"] == TOKEN


@BOTH_READERS
async def test_a_redirect_to_another_port_does_not_get_the_secrets(
    server: TransferTestServer, tmp_path: Path, raw_http: bool
) -> None:
    async with TransferTestServer() as other:
        other.add_file("/f.bin", DATA)
        server.set_faults("/start", Faults(redirect_to=other.url("/f.bin")))
        request = _with(
            ("Authorization", TOKEN),
            ("Cookie", "sid=c00kie"),
            ("X-Api-Key", "k3y"),
            ("Accept", "application/x-thing"),
            secret=frozenset({"x-api-key"}),
        )
        await download(server.url("/start"), tmp_path / "f", raw_http=raw_http, request=request)
        assert (tmp_path / "f").read_bytes() == DATA
        first, hop = server.requests[0].headers, other.requests[0].headers
    assert first["authorization"] == TOKEN
    assert first["cookie"] == "sid=c00kie"
    assert "authorization" not in hop
    assert "cookie" not in hop
    assert "x-api-key" not in hop
    assert hop["accept"] == "application/x-thing"  # not a secret: sent on, as curl -H does


async def test_location_trusted_sends_them_on(server: TransferTestServer, tmp_path: Path) -> None:
    async with TransferTestServer() as other:
        other.add_file("/f.bin", DATA)
        server.set_faults("/start", Faults(redirect_to=other.url("/f.bin")))
        request = _with(("Authorization", TOKEN), location_trusted=True)
        await download(server.url("/start"), tmp_path / "f", request=request)
        assert other.requests[0].headers["authorization"] == TOKEN


async def test_a_redirect_on_the_same_origin_keeps_them(
    server: TransferTestServer, tmp_path: Path
) -> None:
    server.add_file("/f.bin", DATA)
    server.set_faults("/start", Faults(redirect_to="/f.bin"))
    auth = basic_authorization("ann", "pw")
    await download(server.url("/start"), tmp_path / "f", request=_with(("Authorization", auth)))
    # The splice reader follows the redirect itself: two requests, both with the field.
    assert [r.headers.get("authorization") for r in server.requests] == [auth, auth]


# -- TLS -------------------------------------------------------------------------------------


@BOTH_READERS
async def test_a_self_signed_server_fails_without_its_ca_and_works_with_it(
    self_signed_tls: ssl.SSLContext, self_signed_cert: Path, tmp_path: Path, raw_http: bool
) -> None:
    async with TransferTestServer(ssl_context=self_signed_tls) as tls:
        tls.add_file("/f.bin", DATA)
        with pytest.raises(ServerCertificateError):
            await download(tls.url("/f.bin"), tmp_path / "a", raw_http=raw_http)
        trusted = RequestOptions(cacert=str(self_signed_cert))
        await download(tls.url("/f.bin"), tmp_path / "b", request=trusted, raw_http=raw_http)
        assert (tmp_path / "b").read_bytes() == DATA


async def test_https_goes_through_uidts_own_reader_with_the_users_fields(
    self_signed_tls: ssl.SSLContext, self_signed_cert: Path, tmp_path: Path
) -> None:
    async with TransferTestServer(ssl_context=self_signed_tls) as tls:
        tls.add_file("/f.bin", DATA)
        request = _with(("Authorization", TOKEN), cacert=str(self_signed_cert))
        await download(tls.url("/f.bin"), tmp_path / "f", request=request)
        assert (tmp_path / "f").read_bytes() == DATA
        (seen,) = tls.requests  # one request: no second one by aiohttp
        assert seen.headers["user-agent"].startswith("uidt/")
        assert seen.headers["authorization"] == TOKEN


@BOTH_READERS
async def test_a_wrong_host_name_fails_on_both_readers(
    self_signed_tls: ssl.SSLContext, self_signed_cert: Path, tmp_path: Path, raw_http: bool
) -> None:
    async with TransferTestServer(ssl_context=self_signed_tls) as tls:
        tls.add_file("/f.bin", DATA)
        url = tls.url("/f.bin").replace("127.0.0.1", "localhost")  # the certificate: 127.0.0.1
        trusted = RequestOptions(cacert=str(self_signed_cert))
        with pytest.raises(ServerCertificateError, match="match"):
            await download(url, tmp_path / "f", request=trusted, raw_http=raw_http)
        assert not (tmp_path / "f").exists()
        assert tls.requests == []


@BOTH_READERS
async def test_insecure_skips_the_check(
    self_signed_tls: ssl.SSLContext, tmp_path: Path, raw_http: bool
) -> None:
    async with TransferTestServer(ssl_context=self_signed_tls) as tls:
        tls.add_file("/f.bin", DATA)
        insecure = RequestOptions(insecure=True)
        await download(tls.url("/f.bin"), tmp_path / "f", request=insecure, raw_http=raw_http)
        assert (tmp_path / "f").read_bytes() == DATA


@pytest.fixture
def other_ca(tmp_path: Path) -> Path:
    """A certificate authority that signed nothing the test server presents."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    other = tmp_path / "other.pem"
    command = ["openssl", "req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=other"]
    command += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-keyout", str(tmp_path / "other.key"), "-out", str(other)]
    subprocess.run(command, check=True, capture_output=True)
    return other


@BOTH_READERS
async def test_a_ca_file_of_another_ca_does_not_trust_the_server(
    self_signed_tls: ssl.SSLContext, other_ca: Path, tmp_path: Path, raw_http: bool
) -> None:
    async with TransferTestServer(ssl_context=self_signed_tls) as tls:
        tls.add_file("/f.bin", DATA)
        # --cacert replaces the trusted authorities, as curl's does: this one does not sign it.
        other = RequestOptions(cacert=str(other_ca))
        with pytest.raises(ServerCertificateError):
            await download(tls.url("/f.bin"), tmp_path / "f", request=other, raw_http=raw_http)
