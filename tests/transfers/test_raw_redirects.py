"""Plain-HTTP redirects on the splice reader: no request sent twice, the body on the fast path.

Two loopback servers (two ports: two origins) redirect to each other; they count the requests
they see, so a wasted one (the redirect asked again by ``aiohttp``) shows, and the type of the
response says which reader took the body.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from uidt.testing.httpserver import Faults, TransferTestServer
from uidt.transfers.aiotransport import AiohttpBody
from uidt.transfers.download import download
from uidt.transfers.failures import TooManyRedirectsError
from uidt.transfers.rawtransport import RawBody
from uidt.transfers.request import RequestOptions
from uidt.transfers.transport import Transports

DATA = bytes(range(256)) * 400
TOKEN = "Bearer r3dir-5ecret"


@pytest.fixture
async def other() -> AsyncIterator[TransferTestServer]:
    async with TransferTestServer() as running:
        yield running


def _transports(request: RequestOptions | None = None, **kwargs: object) -> Transports:
    options: dict[str, object] = {
        "raw_http": True,
        "session": None,
        "read_timeout": 10.0,
        "max_redirects": 5,
        "allow_insecure_redirect": False,
    }
    options.update(kwargs)
    return Transports(request=request, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_chain_between_ports_ends_on_the_splice_reader(
    server: TransferTestServer, other: TransferTestServer, status: int
) -> None:
    other.add_file("/file.bin", DATA)
    server.set_faults("/one", Faults(redirect_to="/two", redirect_status=status))
    server.set_faults("/two", Faults(redirect_to=other.url("/file.bin"), redirect_status=status))
    transports = _transports()
    try:
        async with transports.open(server.url("/one"), {}) as response:
            assert isinstance(response, RawBody)
            assert response.status == 200
    finally:
        await transports.aclose()
    # Two hops, three requests: none asked twice.
    assert [r.path for r in server.requests] == ["/one", "/two"]
    assert [r.path for r in other.requests] == ["/file.bin"]


async def test_a_redirected_download_sends_hops_plus_one_requests(
    server: TransferTestServer, other: TransferTestServer, tmp_path: Path
) -> None:
    other.add_file("/file.bin", DATA)
    server.set_faults("/one", Faults(redirect_to=other.url("/file.bin")))
    got = await download(server.url("/one"), tmp_path / "f")
    assert got.path.read_bytes() == DATA
    assert len(server.requests) + len(other.requests) == 2


async def test_secrets_stay_with_their_origin_on_the_splice_reader(
    server: TransferTestServer, other: TransferTestServer
) -> None:
    other.add_file("/file.bin", DATA)
    server.set_faults("/one", Faults(redirect_to="/two"))
    server.set_faults("/two", Faults(redirect_to=other.url("/file.bin")))
    for trusted in (False, True):
        request = RequestOptions(headers=(("Authorization", TOKEN),), location_trusted=trusted)
        transports = _transports(request)
        try:
            url = server.url("/one").replace("//", "//ann:pw@")
            async with transports.open(url, {}) as response:
                assert isinstance(response, RawBody)
        finally:
            await transports.aclose()
    assert [r.headers.get("authorization") for r in server.requests] == [TOKEN] * 4
    # Another port is another origin: no token there unless --location-trusted.
    assert [r.headers.get("authorization") for r in other.requests] == [None, TOKEN]


async def test_a_loop_is_stopped_at_the_limit_without_aiohttp(server: TransferTestServer) -> None:
    server.set_faults("/loop", Faults(redirect_to="/loop"))
    transports = _transports(max_redirects=3)
    try:
        with pytest.raises(TooManyRedirectsError):
            async with transports.open(server.url("/loop"), {}):
                pass
    finally:
        await transports.aclose()
    assert len(server.requests) == 4  # the first request and three hops, none sent twice


async def test_a_redirect_to_https_hands_over_to_aiohttp_which_keeps_the_checks(
    server: TransferTestServer,
) -> None:
    # http -> https is no downgrade: aiohttp takes over (and fails to connect: no TLS there).
    server.set_faults("/up", Faults(redirect_to=server.url("/x").replace("http:", "https:")))
    transports = _transports(max_redirects=0)
    try:
        with pytest.raises(TooManyRedirectsError):
            async with transports.open(server.url("/up"), {}):
                pass
    finally:
        await transports.aclose()
    assert len(server.requests) == 1


async def test_an_answer_the_splice_reader_cannot_take_goes_to_aiohttp_at_the_last_hop(
    server: TransferTestServer, other: TransferTestServer
) -> None:
    other.add_file("/file.bin", DATA)
    other.set_faults("/file.bin", Faults(no_length=True))
    server.set_faults("/one", Faults(redirect_to=other.url("/file.bin")))
    transports = _transports(RequestOptions(headers=(("Authorization", TOKEN),)))
    try:
        async with transports.open(server.url("/one"), {}) as response:
            assert isinstance(response, AiohttpBody)
    finally:
        await transports.aclose()
    assert len(server.requests) == 1  # the redirect was not asked again
    # aiohttp asks the last hop again, still without the token (another origin).
    assert [r.headers.get("authorization") for r in other.requests] == [None, None]


# -- https: the same on uidt's own TLS reader (two HTTPS servers with a self-signed CA) ---------


@pytest.fixture
async def tls_pair(
    self_signed_tls: ssl.SSLContext,
) -> AsyncIterator[tuple[TransferTestServer, TransferTestServer]]:
    async with (
        TransferTestServer(ssl_context=self_signed_tls) as first,
        TransferTestServer(ssl_context=self_signed_tls) as second,
    ):
        yield first, second


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_an_https_redirect_chain_between_ports_asks_each_hop_once(
    tls_pair: tuple[TransferTestServer, TransferTestServer], self_signed_cert: Path, status: int
) -> None:
    first, second = tls_pair
    second.add_file("/file.bin", DATA)
    first.set_faults("/one", Faults(redirect_to="/two", redirect_status=status))
    first.set_faults("/two", Faults(redirect_to=second.url("/file.bin"), redirect_status=status))
    transports = _transports(RequestOptions(cacert=str(self_signed_cert)))
    try:
        async with transports.open(first.url("/one"), {}) as response:
            assert isinstance(response, RawBody)  # uidt's own TLS reader took the body
            assert response.status == 200
    finally:
        await transports.aclose()
    assert [r.path for r in first.requests] == ["/one", "/two"]
    assert [r.path for r in second.requests] == ["/file.bin"]


@pytest.mark.parametrize("start", ["https", "http"])
async def test_a_redirected_https_download_sends_two_requests(
    tls_pair: tuple[TransferTestServer, TransferTestServer],
    server: TransferTestServer,
    self_signed_cert: Path,
    tmp_path: Path,
    start: str,
) -> None:
    first, second = tls_pair
    second.add_file("/file.bin", DATA)
    redirector = first if start == "https" else server  # https -> https, or http -> https
    redirector.set_faults("/one", Faults(redirect_to=second.url("/file.bin")))
    request = RequestOptions(cacert=str(self_signed_cert))
    got = await download(redirector.url("/one"), tmp_path / "f", request=request)
    assert got.path.read_bytes() == DATA
    assert [(r.path, r.status) for r in redirector.requests] == [("/one", 302)]
    assert [(r.path, r.status) for r in second.requests] == [("/file.bin", 200)]
