"""Which redirects a download follows, and what the URL's password reaches."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from uidt.errors import InsecureRedirectError, RemoteError, TransferError
from uidt.testing.httpserver import Faults, RecordingSleep, TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.http import new_session
from uidt.transfers.partfile import checkpoint_path
from uidt.transfers.redirects import follow_redirect
from uidt.transfers.retry import RetryPolicy

ORIGINAL = "https://u:pw@example.test/a"


def test_https_to_http_is_refused_by_default() -> None:
    with pytest.raises(InsecureRedirectError, match="not encrypted; refused") as caught:
        follow_redirect(ORIGINAL, "http://example.test/b", original=ORIGINAL, allow_insecure=False)
    assert "pw" not in str(caught.value)


def test_https_to_http_when_allowed() -> None:
    url = follow_redirect(ORIGINAL, "http://mirror.test/b", original=ORIGINAL, allow_insecure=True)
    assert url == "http://mirror.test/b"  # another origin: no credentials


def test_credentials_stay_with_their_origin() -> None:
    same = follow_redirect(ORIGINAL, "/b?x=1", original=ORIGINAL, allow_insecure=False)
    assert same == "https://u:pw@example.test/b?x=1"
    other = follow_redirect(ORIGINAL, "https://cdn.test/b", original=ORIGINAL, allow_insecure=False)
    assert other == "https://cdn.test/b"
    port = follow_redirect(
        ORIGINAL, "https://example.test:8443/b", original=ORIGINAL, allow_insecure=False
    )
    assert port == "https://example.test:8443/b"


@pytest.mark.parametrize("location", [None, "", "ftp://example.test/b", "file:///etc/passwd"])
def test_unusable_locations_are_remote_errors(location: str | None) -> None:
    with pytest.raises(RemoteError):
        follow_redirect(ORIGINAL, location, original=ORIGINAL, allow_insecure=True)


async def test_http_redirects_are_still_followed_hop_by_hop(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file("/file.bin", payload)
    server.set_faults("/one", Faults(redirect_to="/two"))
    server.set_faults("/two", Faults(redirect_to="/file.bin"))
    got = await download(server.url("/one"), tmp_path / "o")
    assert got.path.read_bytes() == payload
    with pytest.raises(RemoteError, match="too many redirects"):
        await download(server.url("/one"), tmp_path / "p", max_redirects=1)
    assert not (tmp_path / "p").exists()


async def test_a_retry_of_a_redirected_download_asks_the_first_url_again(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    """As curl does, and as an expiring presigned redirect target needs: the retry after a
    broken body asks the URL given, which redirects anew, and resumes under If-Range."""
    server.add_file("/file.bin", payload)
    server.set_faults("/file.bin", Faults(reset_after=100_000, times=1))
    server.set_faults("/go", Faults(redirect_to="/file.bin"))
    got = await download(server.url("/go"), tmp_path / "o", sleep=RecordingSleep())
    assert got.path.read_bytes() == payload
    asked = [(r.path, r.range) for r in server.requests if r.method == "GET"]
    assert [path for path, _ in asked] == ["/go", "/file.bin", "/go", "/file.bin"]
    assert (asked[3][1] or "").startswith("bytes=")  # resumed where the broken body stopped


async def test_no_password_in_the_checkpoint_or_the_error(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file("/file.bin", payload)
    server.set_faults("/file.bin", Faults(reset_after=100_000))
    url = server.url("/file.bin").replace("http://", "http://bob:hunter2@")
    dest = tmp_path / "file.bin"
    with pytest.raises(TransferError) as caught:
        await download(url, dest, retries=RetryPolicy(retries=0, link_retries=0))
    assert "hunter2" not in str(caught.value)
    saved = checkpoint_path(dest).read_text()
    assert "hunter2" not in saved
    assert "bob:***@" in saved
    server.set_faults("/file.bin", None)
    got = await download(url, dest)  # the masked URL in the checkpoint still matches
    assert got.resumed_from > 0
    assert dest.read_bytes() == payload


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            *subject,
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
async def tls_redirector(
    server: TransferTestServer, certificate: tuple[Path, Path]
) -> AsyncIterator[tuple[str, ssl.SSLContext]]:
    """An https:// server on loopback whose every answer is a 302 to the plain ``server``."""
    cert, key = certificate
    serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    serving.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(server.url(request.path))

    app = web.Application()
    app.router.add_get("/{tail:.*}", redirect)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=serving)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}", trusting
    finally:
        await runner.cleanup()


async def test_a_real_https_to_http_redirect_is_refused_unless_allowed(
    server: TransferTestServer,
    payload: bytes,
    tmp_path: Path,
    tls_redirector: tuple[str, ssl.SSLContext],
) -> None:
    base, trusting = tls_redirector
    server.add_file("/file.bin", payload)
    dest = tmp_path / "file.bin"
    async with new_session(connector=aiohttp.TCPConnector(ssl=trusting)) as session:
        with pytest.raises(InsecureRedirectError, match="not encrypted; refused"):
            await download(f"{base}/file.bin", dest, session=session)
        assert server.requests == []  # nothing was asked of the unencrypted server
        assert sorted(os.listdir(tmp_path)) == ["cert.pem", "key.pem"]
        got = await download(
            f"{base}/file.bin", dest, session=session, allow_insecure_redirect=True
        )
    assert got.path.read_bytes() == payload
