"""The body of a :mod:`uidt.transfers.rawhttp` response, moved into a file in the calling thread.

- plain HTTP: ``splice(2)`` from the socket through a pipe into the file (``socket → pipe →
  file``: the bytes never enter user space), with the GIL released;
- TLS: the kernel cannot splice what it does not decrypt, so OpenSSL decrypts the records
  that have arrived straight into one reused buffer
  (:meth:`~uidt.transfers.tlsstream.TlsStream.recv_into`: many records per receive) and the
  buffer is written from there in batches of up to :data:`TLS_BATCH_BYTES`: no Python object
  per record, where ``aiohttp`` copies every record through a memory BIO, a ``bytes`` object
  and its stream buffer on the event loop;
- where ``splice`` is missing, plain HTTP falls back to ``recv_into`` + ``write`` too.

:func:`read_exactly` takes the few bytes the caller must look at first (the overlap a resume
asks for again). Everything blocks; :meth:`~uidt.transfers.rawhttp.RawResponse.abort` stops it
from another thread.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from collections.abc import Callable

from uidt.transfers.rawhttp import BodyEndedError, RawResponse, recv_some
from uidt.transfers.tlsstream import TlsStream

#: Bytes asked for per ``splice``/``recv_into`` call.
CHUNK_BYTES = 1024 * 1024
#: The most decrypted TLS bytes gathered before one ``write`` (a buffer that stays in cache).
TLS_BATCH_BYTES = 256 * 1024
_F_SETPIPE_SZ = 1031
_SPLICE_FLAGS = 0x1 | 0x4  # SPLICE_F_MOVE | SPLICE_F_MORE
_HAS_SPLICE = hasattr(os, "splice")

OnBytes = Callable[[int], None]
"""Called after each write with the number of bytes written."""


def read_exactly(response: RawResponse, count: int) -> bytes:
    """Take the next ``count`` body bytes of ``response`` into memory (blocking).

    For a few KiB the caller must look at (the overlap re-checked on a resume); the rest of the
    body then goes to :func:`copy_body` as usual.

    Raises:
        BodyEndedError: The connection ended first (or :meth:`RawResponse.abort` was called).
        TimeoutError: The server went quiet for the read timeout.
    """
    data = response.leftover[:count]
    response.leftover = response.leftover[count:]
    while len(data) < count:
        more = recv_some(response.sock, count - len(data))
        _check_running(response, len(more))
        data += more
    return data


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view) :]


def copy_body(
    response: RawResponse,
    fd: int,
    length: int,
    on_bytes: OnBytes,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    read_bytes: Callable[[int], int] | None = None,
) -> None:
    """Append the next ``length`` body bytes of ``response`` to ``fd`` (blocking).

    Args:
        response: A response from :func:`~uidt.transfers.rawhttp.open_get`.
        fd: A file open for writing at the position where the body goes.
        length: Bytes to copy (the rest of the body).
        on_bytes: Called after each write; it may raise to stop the copy.
        chunk_bytes: The most bytes moved between two calls of ``on_bytes``.
        read_bytes: Asked before each read with that most, answers how many to read now
            (a rate limit reads in smaller steps; ``None``: always the most).

    Raises:
        BodyEndedError: The connection ended early (or :meth:`RawResponse.abort` was called:
            check :attr:`RawResponse.aborted`).
        TimeoutError: The server went quiet for the read timeout.
        OSError: Writing the file failed (``ENOSPC`` included).
    """
    leftover = response.leftover[:length]
    if leftover:
        response.leftover = response.leftover[len(leftover) :]  # taken: a later pour goes on
        _write_all(fd, memoryview(leftover))
        on_bytes(len(leftover))
        length -= len(leftover)
    if length <= 0:
        return
    chunk = max(4096, min(chunk_bytes, CHUNK_BYTES))
    if isinstance(response.sock, TlsStream):
        _tls_body(response, fd, length, on_bytes, chunk, read_bytes)
    elif _HAS_SPLICE:
        _splice_body(response, fd, length, on_bytes, chunk, read_bytes)
    else:
        _recv_body(response, fd, length, on_bytes, chunk, read_bytes)


def _check_running(response: RawResponse, got: int) -> None:
    if not got:
        why = "the transfer was stopped" if response.aborted else "the body ended early"
        raise BodyEndedError(why)


def _recv_body(
    response: RawResponse,
    fd: int,
    length: int,
    on_bytes: OnBytes,
    chunk: int,
    read_bytes: Callable[[int], int] | None,
) -> None:
    buffer = memoryview(bytearray(chunk))
    sock = response.sock
    assert isinstance(sock, socket.socket)
    while length > 0:
        step = chunk if read_bytes is None else min(chunk, read_bytes(chunk))
        try:
            got = sock.recv_into(buffer, min(step, length))
        except BlockingIOError as exc:
            raise TimeoutError("no data from the server") from exc
        _check_running(response, got)
        _write_all(fd, buffer[:got])
        on_bytes(got)
        length -= got


def _tls_body(
    response: RawResponse,
    fd: int,
    length: int,
    on_bytes: OnBytes,
    chunk: int,
    read_bytes: Callable[[int], int] | None,
) -> None:
    """Decrypt the body into one reused buffer and write it out in batches.

    Each :meth:`~uidt.transfers.tlsstream.TlsStream.recv_into` fills the buffer with every
    record that has arrived (up to :data:`TLS_BATCH_BYTES`), so a fast server's body goes out
    in full batches: one ``write`` and one call of the sink's accounting per batch, not per
    16 KiB record. When the server pauses, what has come is written at once, so progress and
    the lowest-speed rule never wait for a batch. Under a rate limit (``read_bytes``) each read
    takes at most what the limit allows now, so the limit's pauses see every byte.
    """
    stream = response.sock
    assert isinstance(stream, TlsStream)
    batch = min(chunk, TLS_BATCH_BYTES)
    buffer = memoryview(bytearray(batch))
    while length > 0:
        step = batch if read_bytes is None else max(1, min(batch, read_bytes(batch)))
        got = stream.recv_into(buffer[: min(step, length)])
        _check_running(response, got)
        _write_all(fd, buffer[:got])
        on_bytes(got)
        length -= got


def _splice_body(
    response: RawResponse,
    fd: int,
    length: int,
    on_bytes: OnBytes,
    chunk: int,
    read_bytes: Callable[[int], int] | None,
) -> None:
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    try:
        with contextlib.suppress(OSError):  # over /proc/sys/fs/pipe-max-size: keep 64 KiB
            fcntl.fcntl(write_end, _F_SETPIPE_SZ, CHUNK_BYTES)
        source = response.sock.fileno()
        while length > 0:
            step = chunk if read_bytes is None else min(chunk, read_bytes(chunk))
            try:
                got = os.splice(source, write_end, min(step, length), flags=_SPLICE_FLAGS)
            except BlockingIOError as exc:
                raise TimeoutError("no data from the server") from exc
            except OSError as exc:
                if exc.errno in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN):
                    raise BodyEndedError(f"the connection broke ({exc.strerror})") from exc
                raise
            _check_running(response, got)
            left = got
            while left:
                left -= os.splice(read_end, fd, left, flags=_SPLICE_FLAGS)
            on_bytes(got)
            length -= got
    finally:
        os.close(read_end)
        os.close(write_end)
