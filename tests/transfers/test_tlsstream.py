"""TlsStream, uidt's TLS client over memory buffers, against a server end whose ciphertext
the test hands over in pieces it chooses.

The server end is an ``ssl.SSLObject`` over memory buffers on the other side of a socket pair:
each ``write`` of up to 16 KiB is one TLS record, and the test decides how much of it has
reached the client's socket before the client reads (a socket pair's bytes are there as soon as
``sendall`` returns), so the record boundaries and the receives are exact, not timed.
"""

from __future__ import annotations

import os
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.testing.tlspeer import RECORD_BYTES, ServerEnd, connected
from uidt.transfers.request import RequestOptions
from uidt.transfers.tls import client_context
from uidt.transfers.tlsstream import RECEIVE_BYTES, TlsStream

RECORD = RECORD_BYTES


class CountingSocket(socket.socket):
    """A socket that counts the ``recv_into`` calls made on it."""

    receives = 0

    def recv_into(self, *args: object, **kwargs: object) -> int:  # type: ignore[override]
        self.receives += 1
        return super().recv_into(*args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def pair(
    self_signed_tls: ssl.SSLContext, self_signed_cert: Path
) -> Iterator[tuple[TlsStream, ServerEnd]]:
    """A client stream (over a counting socket) that finished its handshake."""
    left, right = socket.socketpair()
    context = client_context(RequestOptions(cacert=str(self_signed_cert)))
    stream, server = connected(
        CountingSocket(fileno=left.detach()), right, context, self_signed_tls
    )
    try:
        yield stream, server
    finally:
        stream.close()
        right.close()


def _receives(stream: TlsStream) -> int:
    sock = stream.sock
    assert isinstance(sock, CountingSocket)
    return sock.receives


def test_everything_that_came_is_decrypted_with_one_receive(
    pair: tuple[TlsStream, ServerEnd],
) -> None:
    stream, server = pair
    data = os.urandom(6 * RECORD)
    server.send(server.record(data))  # six records, all in the socket before the read
    buffer = memoryview(bytearray(RECEIVE_BYTES))
    before = _receives(stream)
    got = stream.recv_into(buffer)
    assert buffer[:got] == data
    # One receive took the six records, one more (not waiting) found nothing else: where the
    # socket was read twice per record, and polled once.
    assert _receives(stream) - before <= 3


def test_a_record_split_across_receives_waits_for_its_rest(
    pair: tuple[TlsStream, ServerEnd],
) -> None:
    stream, server = pair
    first, second = os.urandom(RECORD), os.urandom(RECORD)
    one, two = server.record(first), server.record(second)
    server.send(one + two[:100])  # the second record's header and a few bytes of it
    buffer = memoryview(bytearray(4 * RECORD))
    got = stream.recv_into(buffer)
    assert buffer[:got] == first  # not waiting for the rest of the second
    server.send(two[100:])
    got = stream.recv_into(buffer)
    assert buffer[:got] == second


def test_a_header_split_across_receives(pair: tuple[TlsStream, ServerEnd]) -> None:
    stream, server = pair
    data = os.urandom(1000)
    ciphertext = server.record(data)
    server.send(ciphertext[:3])  # not even the 5-byte record header
    reading = _Reader(stream, 4 * RECORD)
    server.send(ciphertext[3:])
    assert reading.result() == data


def test_a_buffer_smaller_than_a_record_gets_the_rest_next_time(
    pair: tuple[TlsStream, ServerEnd],
) -> None:
    stream, server = pair
    data = os.urandom(RECORD)
    server.send(server.record(data))
    buffer = memoryview(bytearray(1000))
    parts = []
    while sum(len(p) for p in parts) < len(data):
        got = stream.recv_into(buffer)
        assert 0 < got <= 1000
        parts.append(bytes(buffer[:got]))
    assert b"".join(parts) == data


def test_the_end_of_the_tcp_stream_after_a_short_body(pair: tuple[TlsStream, ServerEnd]) -> None:
    stream, server = pair
    data = os.urandom(RECORD + 500)
    server.send(server.record(data))
    server.sock.shutdown(socket.SHUT_WR)  # no close_notify: the server just hung up
    buffer = memoryview(bytearray(4 * RECORD))
    got = stream.recv_into(buffer)
    assert buffer[:got] == data
    assert stream.recv_into(buffer) == 0
    assert stream.recv_into(buffer) == 0  # and stays ended


def test_the_end_of_a_record_cut_short(pair: tuple[TlsStream, ServerEnd]) -> None:
    stream, server = pair
    whole, cut = os.urandom(RECORD), os.urandom(RECORD)
    server.send(server.record(whole) + server.record(cut)[:-50])
    server.sock.shutdown(socket.SHUT_WR)
    buffer = memoryview(bytearray(4 * RECORD))
    got = stream.recv_into(buffer)
    assert buffer[:got] == whole  # never a byte of the record that did not all come
    assert stream.recv_into(buffer) == 0


def test_close_notify_ends_the_stream(pair: tuple[TlsStream, ServerEnd]) -> None:
    stream, server = pair
    data = os.urandom(300)
    ciphertext = server.record(data)
    with pytest.raises(ssl.SSLWantReadError):
        server.tls.unwrap()  # writes close_notify, then would wait for the client's
    server.send(ciphertext + server.outgoing.read())
    buffer = memoryview(bytearray(4 * RECORD))
    got = stream.recv_into(buffer)
    assert buffer[:got] == data
    assert stream.recv_into(buffer) == 0


def test_a_forged_record_after_good_ones_keeps_them_then_fails(
    pair: tuple[TlsStream, ServerEnd],
) -> None:
    stream, server = pair
    good = os.urandom(2 * RECORD)
    ciphertext = server.record(good)
    forged = bytearray(server.record(os.urandom(RECORD)))  # the next record, in order
    forged[100] ^= 0xFF  # its integrity check fails
    server.send(ciphertext + bytes(forged))
    buffer = memoryview(bytearray(8 * RECORD))
    got = stream.recv_into(buffer)
    assert buffer[:got] == good  # what was decrypted before the failure is handed over
    with pytest.raises(ssl.SSLError):
        stream.recv_into(buffer)  # then the failure, never bytes of the forged record


def test_a_reset_after_some_records_keeps_them_then_fails(
    self_signed_tls: ssl.SSLContext, self_signed_cert: Path
) -> None:
    # Over TCP: the server resets the connection after two records it sent.
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    peer, _ = listener.accept()
    listener.close()
    context = client_context(RequestOptions(cacert=str(self_signed_cert)))
    stream, server = connected(client, peer, context, self_signed_tls)
    try:
        data = os.urandom(2 * RECORD)
        buffer = memoryview(bytearray(8 * RECORD))
        server.send(server.record(data))
        got = stream.recv_into(buffer[:100])  # the records are here (part of one decrypted)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()  # a reset
        received = [bytes(buffer[:got])]
        with pytest.raises((ConnectionError, ssl.SSLError)):
            _read_to_the_end(stream, buffer, received)
        assert data.startswith(b"".join(received))  # a prefix of what was sent, never other bytes
    finally:
        stream.close()


def _read_to_the_end(stream: TlsStream, buffer: memoryview, received: list[bytes]) -> None:
    while got := stream.recv_into(buffer):
        received.append(bytes(buffer[:got]))


def test_silence_is_a_timeout(pair: tuple[TlsStream, ServerEnd]) -> None:
    stream, _ = pair
    stream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 200_000))
    with pytest.raises(TimeoutError):
        stream.recv_into(memoryview(bytearray(RECORD)))


def test_shutting_the_socket_down_ends_a_waiting_read(pair: tuple[TlsStream, ServerEnd]) -> None:
    stream, _ = pair
    reading = _Reader(stream, RECORD)
    stream.shutdown(socket.SHUT_RDWR)  # what RawResponse.abort does, from another thread
    assert reading.result() == b""


def test_sendall_reaches_the_server(pair: tuple[TlsStream, ServerEnd]) -> None:
    stream, server = pair
    stream.sendall(b"GET / HTTP/1.1\r\n\r\n")
    server.incoming.write(server.sock.recv(65536))
    assert server.tls.read(100) == b"GET / HTTP/1.1\r\n\r\n"
    assert stream.version() in ("TLSv1.2", "TLSv1.3")


class _Reader:
    """``recv_into`` in a thread (for the reads that must wait for the test's next step)."""

    def __init__(self, stream: TlsStream, size: int) -> None:
        self._buffer = memoryview(bytearray(size))
        self._got: int | BaseException = 0
        self._thread = threading.Thread(target=self._run, args=(stream,))
        self._thread.start()

    def _run(self, stream: TlsStream) -> None:
        try:
            self._got = stream.recv_into(self._buffer)
        except BaseException as exc:  # handed to the test
            self._got = exc

    def result(self) -> bytes:
        self._thread.join(10)
        assert not self._thread.is_alive()
        if isinstance(self._got, BaseException):
            raise self._got
        return bytes(self._buffer[: self._got])
