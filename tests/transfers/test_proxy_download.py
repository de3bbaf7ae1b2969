"""Downloads and uploads through a real proxy on loopback: the project's recording proxy.

The origin server records the client port of each request and the proxy the local port of
each connection it made, so "went through the proxy" is proved, not assumed: every port the
origin saw is one of the proxy's.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest

from uidt.errors import ProxyError, RetryLaterError
from uidt.testing.httpserver import Faults, RecordingSleep, TransferTestServer
from uidt.testing.proxyserver import RecordingProxy
from uidt.transfers.download import download
from uidt.transfers.proxy import ProxySettings
from uidt.transfers.rawtransport import RawBody
from uidt.transfers.request import RequestOptions
from uidt.transfers.transport import Transports
from uidt.transfers.upload import UploadMode, upload

DATA = bytes(range(256)) * 800  # 200 KiB


def _via(proxy: str, **kwargs: str) -> RequestOptions:
    return RequestOptions(proxy=ProxySettings(proxy=proxy, **kwargs))


def _only_through(proxy: RecordingProxy, server: TransferTestServer) -> None:
    seen = {r.peer_port for r in server.requests}
    assert seen
    assert seen <= proxy.upstream_ports()


@pytest.mark.parametrize("raw_http", [True, False], ids=["splice-allowed", "aiohttp"])
async def test_a_proxied_download_never_goes_direct(
    server: TransferTestServer, tmp_path: Path, raw_http: bool
) -> None:
    server.add_file("/f.bin", DATA)
    with RecordingProxy() as proxy:
        await download(
            server.url("/f.bin"), tmp_path / "f", raw_http=raw_http, request=_via(proxy.url)
        )
    assert (tmp_path / "f").read_bytes() == DATA
    assert [(r.method, r.target) for r in proxy.records] == [("GET", server.url("/f.bin"))]
    _only_through(proxy, server)


async def test_the_environment_proxy_is_used_and_no_proxy_bypasses_it(
    server: TransferTestServer, tmp_path: Path
) -> None:
    server.add_file("/f.bin", DATA)
    with RecordingProxy() as proxy:
        env = {"http_proxy": proxy.url}
        request = RequestOptions(proxy=ProxySettings.from_environ(env))
        await download(server.url("/f.bin"), tmp_path / "a", request=request)
        assert len(proxy.records) == 1
        env["NO_PROXY"] = "example.org, 127.0.0.0/8"
        request = RequestOptions(proxy=ProxySettings.from_environ(env))
        await download(server.url("/f.bin"), tmp_path / "b", request=request)
        assert len(proxy.records) == 1  # the second went direct, as asked
    assert (tmp_path / "b").read_bytes() == DATA
    assert len(server.requests) == 2


async def test_a_proxy_that_resets_mid_body_is_resumed_through_the_proxy(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    server.add_file("/f.bin", DATA)
    with RecordingProxy(reset_after=60_000) as proxy:
        await download(server.url("/f.bin"), tmp_path / "f", request=_via(proxy.url), sleep=no_wait)
    assert (tmp_path / "f").read_bytes() == DATA
    assert len(proxy.records) == 2
    assert server.requests[1].range is not None
    assert server.requests[1].range != "bytes=0-"
    _only_through(proxy, server)


async def test_https_through_connect_with_a_self_signed_ca(
    self_signed_tls: ssl.SSLContext, self_signed_cert: Path, tmp_path: Path
) -> None:
    async with TransferTestServer(ssl_context=self_signed_tls) as tls:
        tls.add_file("/f.bin", DATA)
        with RecordingProxy() as proxy:
            request = RequestOptions(
                cacert=str(self_signed_cert),
                proxy=ProxySettings.from_environ({"HTTPS_PROXY": proxy.url}),
            )
            await download(tls.url("/f.bin"), tmp_path / "f", request=request)
        assert (tmp_path / "f").read_bytes() == DATA
        assert [(r.method, r.target) for r in proxy.records] == [
            ("CONNECT", f"127.0.0.1:{tls.port}")
        ]
        _only_through(proxy, tls)


@pytest.mark.parametrize(
    ("scheme", "raw_http"),
    [("http", True), ("http", False), ("https", True)],
    ids=["http-splice", "http-aiohttp", "https-connect"],
)
async def test_proxy_credentials_go_to_the_proxy_only_and_a_407_is_permanent(
    self_signed_tls: ssl.SSLContext,
    self_signed_cert: Path,
    tmp_path: Path,
    scheme: str,
    raw_http: bool,
    no_wait: RecordingSleep,
) -> None:
    context = self_signed_tls if scheme == "https" else None
    async with TransferTestServer(ssl_context=context) as origin:
        origin.add_file("/f.bin", DATA)
        with RecordingProxy(credentials="ann:pr0xy-pw") as proxy:
            bare = _via(proxy.url)
            with pytest.raises(ProxyError, match=f"proxy 127.0.0.1:{proxy.port} wants cred"):
                await download(
                    origin.url("/f.bin"),
                    tmp_path / "no",
                    request=RequestOptions(cacert=str(self_signed_cert), proxy=bare.proxy),
                    sleep=no_wait,
                    raw_http=raw_http,
                )
            assert len(proxy.records) == 1  # not retried
            with_pw = ProxySettings(proxy=proxy.url.replace("//", "//ann:pr0xy-pw@"))
            request = RequestOptions(cacert=str(self_signed_cert), proxy=with_pw)
            await download(
                origin.url("/f.bin"), tmp_path / "yes", request=request, raw_http=raw_http
            )
        assert (tmp_path / "yes").read_bytes() == DATA
        assert proxy.records[-1].authorization == "Basic YW5uOnByMHh5LXB3"
        assert all("proxy-authorization" not in r.headers for r in origin.requests)
        assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("raw_http", [True, False], ids=["splice", "aiohttp"])
async def test_an_unreachable_proxy_is_one_clear_line_after_the_retries(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep, raw_http: bool
) -> None:
    server.add_file("/f.bin", DATA)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(RetryLaterError) as caught:
        await download(
            server.url("/f.bin"),
            tmp_path / "f",
            request=_via(f"127.0.0.1:{port}"),
            sleep=no_wait,
            retries=2,
            raw_http=raw_http,
        )
    assert f"the proxy 127.0.0.1:{port} refused the connection" in str(caught.value)
    assert len(no_wait.delays) > 1  # retried like a link error
    assert server.requests == []  # and never went direct


@pytest.mark.parametrize("path", ["/files/", "/put/x"], ids=["tus", "plain-put"])
async def test_uploads_go_through_the_proxy(
    server: TransferTestServer, tmp_path: Path, path: str
) -> None:
    source = tmp_path / "up.bin"
    source.write_bytes(DATA)
    with RecordingProxy() as proxy:
        result = await upload(source, server.url(path), request=_via(proxy.url))
    stored = server.put_bodies.get(path) or bytes(next(iter(server.uploads.values())))
    assert stored == DATA
    assert result.mode is (UploadMode.TUS if path == "/files/" else UploadMode.PLAIN)
    assert len(proxy.records) == len(server.requests) >= 1
    _only_through(proxy, server)


async def test_plain_http_through_a_proxy_is_read_by_the_splice_reader_redirects_too(
    server: TransferTestServer, tmp_path: Path
) -> None:
    async with TransferTestServer() as other:
        other.add_file("/f.bin", DATA)
        server.set_faults("/moved", Faults(redirect_to=other.url("/f.bin")))
        with RecordingProxy() as proxy:
            transports = Transports(
                raw_http=True,
                session=None,
                read_timeout=10.0,
                max_redirects=5,
                allow_insecure_redirect=False,
                request=_via(proxy.url),
            )
            try:
                async with transports.open(server.url("/moved"), {}) as response:
                    assert isinstance(response, RawBody)
                    assert response.status == 200
            finally:
                await transports.aclose()
        assert [r.target for r in proxy.records] == [server.url("/moved"), other.url("/f.bin")]
        _only_through(proxy, server)
        _only_through(proxy, other)


@pytest.mark.parametrize("path", ["/files/", "/put/x"], ids=["tus", "plain-put"])
async def test_an_upload_through_a_proxy_that_wants_credentials_fails_at_once(
    server: TransferTestServer, tmp_path: Path, path: str, no_wait: RecordingSleep
) -> None:
    source = tmp_path / "up.bin"
    source.write_bytes(DATA)
    with RecordingProxy(credentials="ann:pw-up") as proxy:
        with pytest.raises(ProxyError, match="wants credentials"):
            await upload(source, server.url(path), request=_via(proxy.url), sleep=no_wait)
        assert server.requests == []
        url = proxy.url.replace("//", "//ann:pw-up@")
        await upload(source, server.url(path), request=_via(url))
    assert all("proxy-authorization" not in r.headers for r in server.requests)
    _only_through(proxy, server)
