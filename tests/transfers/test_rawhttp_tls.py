"""uidt's own reader over TLS, against the real loopback server speaking HTTPS.

The same request, head parsing and checks as plain HTTP (``test_rawhttp.py``); here what TLS
adds: the certificate and host name are checked as strictly as ``aiohttp`` does, a body cut
short, stopped or silent fails the same way, and the batched copy never holds bytes back
from a server that pauses.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from uidt.testing.httpserver import Faults, TransferTestServer
from uidt.testing.tlspeer import ServerEnd, connected
from uidt.transfers.failures import Failure, classify
from uidt.transfers.rawbody import TLS_BATCH_BYTES, copy_body, read_exactly
from uidt.transfers.rawheaders import RawHeaders
from uidt.transfers.rawhttp import BodyEndedError, RawResponse, open_get
from uidt.transfers.request import RequestOptions
from uidt.transfers.tls import client_context
from uidt.transfers.tlsstream import TlsStream

PATH = "/tls/file.bin"


@pytest.fixture
async def tls_server(self_signed_tls: ssl.SSLContext) -> AsyncIterator[TransferTestServer]:
    async with TransferTestServer(ssl_context=self_signed_tls) as running:
        yield running


@pytest.fixture
def trusting(self_signed_cert: Path) -> ssl.SSLContext:
    """The client context of ``--cacert`` the test certificate."""
    return client_context(RequestOptions(cacert=str(self_signed_cert)))


def _copy(response: RawResponse, dest: Path, *, chunk: int = 1 << 20) -> list[int]:
    """Copy the rest of the body into ``dest``; return the counts ``on_bytes`` saw."""
    counts: list[int] = []
    length = response.content_length
    assert length is not None
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        copy_body(response, fd, length, counts.append, chunk_bytes=chunk)
    finally:
        os.close(fd)
    return counts


async def _open(server: TransferTestServer, tls: ssl.SSLContext, **kwargs: float) -> RawResponse:
    return await asyncio.to_thread(open_get, server.url(PATH), {}, tls=tls, **kwargs)


async def test_a_whole_body_over_tls(
    tls_server: TransferTestServer, trusting: ssl.SSLContext, payload: bytes, tmp_path: Path
) -> None:
    tls_server.add_file(PATH, payload)
    assert tls_server.url(PATH).startswith("https://")
    response = await _open(tls_server, trusting)
    try:
        assert isinstance(response.sock, TlsStream)  # many records per receive
        assert response.sock.version() in ("TLSv1.2", "TLSv1.3")
        assert response.status == 200
        assert response.content_length == len(payload)
        assert response.headers.get("etag") == tls_server.etag(PATH)
        counts = await asyncio.to_thread(_copy, response, tmp_path / "out", chunk=64 * 1024)
    finally:
        response.close()
    assert (tmp_path / "out").read_bytes() == payload
    assert sum(counts) == len(payload)
    assert max(counts) <= 64 * 1024  # never more than asked between two calls
    assert tls_server.requests[-1].headers["user-agent"].startswith("uidt/")


async def test_batches_stay_within_the_batch_size(
    tls_server: TransferTestServer, trusting: ssl.SSLContext, payload: bytes, tmp_path: Path
) -> None:
    tls_server.add_file(PATH, payload)
    response = await _open(tls_server, trusting)
    try:
        counts = await asyncio.to_thread(_copy, response, tmp_path / "out")
    finally:
        response.close()
    assert (tmp_path / "out").read_bytes() == payload
    assert max(counts) <= TLS_BATCH_BYTES


async def test_a_pausing_server_gets_what_came_written_at_once(
    tls_server: TransferTestServer, trusting: ssl.SSLContext, tmp_path: Path
) -> None:
    # 40 KiB come, then the server pauses (0.2 s): those bytes must reach the file (and the
    # progress count) before the next ones, not wait for a batch of 256 KiB to fill.
    tls_server.add_file(PATH, os.urandom(200 * 1024))
    tls_server.set_faults(PATH, Faults(drip_bps=200 * 1024, drip_chunk=40 * 1024))
    response = await _open(tls_server, trusting)
    counts: list[int] = []
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        length = response.content_length
        assert length is not None
        done = asyncio.to_thread(copy_body, response, fd, length, counts.append)
        await asyncio.wait_for(done, 30)
    finally:
        os.close(fd)
        response.close()
    assert sum(counts) == 200 * 1024
    assert len(counts) >= 5  # one write per pause at least, not one at the end


async def test_a_body_cut_short_over_tls_is_a_body_ended_error(
    tls_server: TransferTestServer, trusting: ssl.SSLContext, payload: bytes, tmp_path: Path
) -> None:
    tls_server.add_file(PATH, payload)
    tls_server.set_faults(PATH, Faults(truncate_after=100_000))
    response = await _open(tls_server, trusting)
    try:
        with pytest.raises(BodyEndedError, match="ended early") as caught:
            await asyncio.to_thread(_copy, response, tmp_path / "out")
    finally:
        response.close()
    assert classify(caught.value) is Failure.LINK
    # What came before the cut is kept (the resume asks from there), nothing after it.
    assert (tmp_path / "out").read_bytes() == payload[:100_000]


async def test_a_reset_over_tls_is_a_link_failure(
    tls_server: TransferTestServer, trusting: ssl.SSLContext, payload: bytes, tmp_path: Path
) -> None:
    tls_server.add_file(PATH, payload)
    tls_server.set_faults(PATH, Faults(reset_after=150_000))
    response = await _open(tls_server, trusting)
    try:
        with pytest.raises((ConnectionError, ssl.SSLError)) as caught:
            await asyncio.to_thread(_copy, response, tmp_path / "out")
    finally:
        response.close()
    assert classify(caught.value) is Failure.LINK
    written = (tmp_path / "out").read_bytes()
    assert written == payload[: len(written)]


async def test_abort_stops_a_waiting_tls_copy(
    tls_server: TransferTestServer, trusting: ssl.SSLContext, payload: bytes, tmp_path: Path
) -> None:
    tls_server.add_file(PATH, payload)
    tls_server.pause(PATH)
    response = await _open(tls_server, trusting)
    try:
        copying = asyncio.ensure_future(asyncio.to_thread(_copy, response, tmp_path / "out"))
        response.abort()
        with pytest.raises(BodyEndedError, match="stopped"):
            await asyncio.wait_for(copying, 10)
    finally:
        response.close()
        tls_server.unpause(PATH)
    assert response.aborted


async def test_a_silent_tls_server_times_out(
    tls_server: TransferTestServer, trusting: ssl.SSLContext, payload: bytes, tmp_path: Path
) -> None:
    tls_server.add_file(PATH, payload)
    tls_server.pause(PATH)
    response = await _open(tls_server, trusting, read_timeout=0.2)
    try:
        with pytest.raises(TimeoutError):
            await asyncio.to_thread(_copy, response, tmp_path / "out")
    finally:
        response.close()
        tls_server.unpause(PATH)


async def test_read_exactly_over_tls(
    tls_server: TransferTestServer, trusting: ssl.SSLContext, payload: bytes, tmp_path: Path
) -> None:
    tls_server.add_file(PATH, payload)
    response = await _open(tls_server, trusting)
    try:
        head = await asyncio.to_thread(read_exactly, response, 5000)
        assert head == payload[:5000]
    finally:
        response.close()


# -- batch boundaries, against a server end sending by hand --------------------------------


@pytest.fixture
def by_hand(
    self_signed_tls: ssl.SSLContext, trusting: ssl.SSLContext
) -> Iterator[tuple[TlsStream, ServerEnd]]:
    """A TLS connection whose server end the test drives (it never closes by itself)."""
    left, right = socket.socketpair()
    stream, end = connected(left, right, trusting, self_signed_tls)
    try:
        yield stream, end
    finally:
        stream.close()
        right.close()


def _answer(stream: TlsStream, length: int) -> RawResponse:
    return RawResponse(200, "OK", RawHeaders.parse(f"Content-Length: {length}".encode()), stream)


def _send_in_a_thread(
    end: ServerEnd, ciphertext: bytes, *, hang_up: bool = False
) -> threading.Thread:
    """Send ``ciphertext`` (more than a socket holds) while the test reads it; ``hang_up``:
    then end the TCP stream, without a ``close_notify``."""

    def send() -> None:
        end.send(ciphertext)
        if hang_up:
            end.sock.shutdown(socket.SHUT_WR)

    sending = threading.Thread(target=send)
    sending.start()
    return sending


def test_a_body_ending_exactly_at_a_batch_boundary_needs_no_more_bytes(
    by_hand: tuple[TlsStream, ServerEnd], tmp_path: Path
) -> None:
    # Two full batches and not a byte more, on a connection the server keeps open: the copy
    # ends with the last byte, it does not wait for the next one (that would time out).
    stream, end = by_hand
    body = os.urandom(2 * TLS_BATCH_BYTES)
    sending = _send_in_a_thread(end, end.record(body))
    counts = _copy(_answer(stream, len(body)), tmp_path / "out")
    sending.join(10)
    assert (tmp_path / "out").read_bytes() == body
    assert sum(counts) == len(body)
    assert max(counts) <= TLS_BATCH_BYTES


def test_a_body_split_mid_record_across_batches(
    by_hand: tuple[TlsStream, ServerEnd], tmp_path: Path
) -> None:
    # The records are 10,000 bytes: a batch of 256 KiB ends inside one; its rest is the start
    # of the next batch.
    stream, end = by_hand
    body = os.urandom(3 * TLS_BATCH_BYTES + 777)
    ciphertext = b"".join(end.record(body[i : i + 10_000]) for i in range(0, len(body), 10_000))
    sending = _send_in_a_thread(end, ciphertext)
    counts = _copy(_answer(stream, len(body)), tmp_path / "out")
    sending.join(10)
    assert (tmp_path / "out").read_bytes() == body
    assert sum(counts) == len(body)


def test_a_body_short_at_the_end_is_a_body_ended_error(
    by_hand: tuple[TlsStream, ServerEnd], tmp_path: Path
) -> None:
    stream, end = by_hand
    body = os.urandom(TLS_BATCH_BYTES + 5000)
    # The server hangs up 1000 bytes early.
    sending = _send_in_a_thread(end, end.record(body[:-1000]), hang_up=True)
    with pytest.raises(BodyEndedError, match="ended early"):
        _copy(_answer(stream, len(body)), tmp_path / "out")
    sending.join(10)
    assert (tmp_path / "out").read_bytes() == body[:-1000]  # all that came, nothing else


def test_a_forged_record_mid_batch_keeps_the_bytes_before_it(
    by_hand: tuple[TlsStream, ServerEnd], tmp_path: Path
) -> None:
    stream, end = by_hand
    body = os.urandom(TLS_BATCH_BYTES)
    good = end.record(body[:50_000])
    forged = bytearray(end.record(body[50_000:]))
    forged[200] ^= 0xFF
    end.send(good + bytes(forged[:100_000]))
    with pytest.raises(ssl.SSLError) as caught:
        _copy(_answer(stream, len(body)), tmp_path / "out")
    assert classify(caught.value) is Failure.LINK
    assert (tmp_path / "out").read_bytes() == body[:50_000]


def test_bytes_past_the_content_length_are_never_written(
    by_hand: tuple[TlsStream, ServerEnd], tmp_path: Path
) -> None:
    # A server that sends more than it announced (in the same records): the file gets exactly
    # the announced length.
    stream, end = by_hand
    body = os.urandom(100_000)
    end.send(end.record(body + b"trailing garbage"))
    counts = _copy(_answer(stream, len(body)), tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == body
    assert sum(counts) == len(body)


def test_a_tls_1_2_server(self_signed_cert: Path, trusting: ssl.SSLContext, tmp_path: Path) -> None:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(self_signed_cert, self_signed_cert.with_name("key.pem"))
    server_context.maximum_version = ssl.TLSVersion.TLSv1_2
    left, right = socket.socketpair()
    stream, end = connected(left, right, trusting, server_context)
    try:
        assert stream.version() == "TLSv1.2"
        body = os.urandom(TLS_BATCH_BYTES + 12345)
        sending = _send_in_a_thread(end, end.record(body))
        _copy(_answer(stream, len(body)), tmp_path / "out")
        sending.join(10)
    finally:
        stream.close()
        right.close()
    assert (tmp_path / "out").read_bytes() == body


# -- the certificate checks: never weaker than aiohttp's -------------------------------------


async def test_an_untrusted_certificate_fails(
    tls_server: TransferTestServer, tmp_path: Path
) -> None:
    tls_server.add_file(PATH, b"x")
    for tls in (None, client_context(RequestOptions())):  # the system's trust
        with pytest.raises(ssl.SSLCertVerificationError) as caught:
            await asyncio.to_thread(open_get, tls_server.url(PATH), {}, tls=tls)
        assert classify(caught.value) is Failure.CERTIFICATE
    assert tls_server.requests == []  # not a byte of the request went out


async def test_a_wrong_host_name_fails_even_with_a_trusted_ca(
    tls_server: TransferTestServer, trusting: ssl.SSLContext
) -> None:
    # The certificate names 127.0.0.1; "localhost" reaches the same server under another name.
    tls_server.add_file(PATH, b"x")
    url = tls_server.url(PATH).replace("127.0.0.1", "localhost")
    with pytest.raises(ssl.SSLCertVerificationError, match="match") as caught:
        await asyncio.to_thread(open_get, url, {}, tls=trusting)
    assert classify(caught.value) is Failure.CERTIFICATE
    assert tls_server.requests == []


async def test_insecure_takes_any_certificate(
    tls_server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    tls_server.add_file(PATH, payload)
    url = tls_server.url(PATH).replace("127.0.0.1", "localhost")
    insecure = client_context(RequestOptions(insecure=True))
    response = await asyncio.to_thread(open_get, url, {}, tls=insecure)
    try:
        await asyncio.to_thread(_copy, response, tmp_path / "out")
    finally:
        response.close()
    assert (tmp_path / "out").read_bytes() == payload


@pytest.mark.parametrize(
    "options",
    [RequestOptions(), RequestOptions(insecure=True), None],
    ids=["system", "insecure", "cacert"],
)
def test_every_context_speaks_tls_1_2_or_later(
    options: RequestOptions | None, self_signed_cert: Path
) -> None:
    context = client_context(options or RequestOptions(cacert=str(self_signed_cert)))
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    if options is None or not options.insecure:
        assert context.check_hostname
        assert context.verify_mode is ssl.CERT_REQUIRED


async def test_a_server_of_tls_1_1_or_older_is_refused(
    self_signed_cert: Path, trusting: ssl.SSLContext
) -> None:
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    old.load_cert_chain(self_signed_cert, self_signed_cert.with_name("key.pem"))
    with warnings.catch_warnings():  # the very point: a server stuck on a deprecated version
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    async with TransferTestServer(ssl_context=old) as server:
        server.add_file(PATH, b"x")
        # The handshake fails (OpenSSL's alert, or the server hanging up on the hello).
        with pytest.raises((ssl.SSLError, ConnectionError)) as caught:
            await asyncio.to_thread(open_get, server.url(PATH), {}, tls=trusting)
        assert classify(caught.value) is Failure.LINK
        assert server.requests == []
