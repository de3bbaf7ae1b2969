"""The body of a :mod:`uidt.transfers.rawhttp` response, moved into a file in the calling thread.

- plain HTTP: ``splice(2)`` from the socket through a pipe into the file (``socket → pipe →
  file``: the bytes never enter user space), with the GIL released;
- TLS: the kernel cannot splice what it does not decrypt, so OpenSSL decrypts each record
  straight into one reused buffer (``recv_into``) and the buffer is written from there in
  batches of up to :data:`TLS_BATCH_BYTES`: one copy in user space and no Python object per
  record, where ``aiohttp`` copies every record through a memory BIO, a ``bytes`` object and
  its stream buffer on the event loop;
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
import select
import ssl
from collections.abc import Callable

from uidt.transfers.rawhttp import BodyEndedError, RawResponse, recv_some

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
    leftover = memoryview(response.leftover)[:length]
    if leftover:
        _write_all(fd, leftover)
        on_bytes(len(leftover))
        length -= len(leftover)
    if length <= 0:
        return
    chunk = max(4096, min(chunk_bytes, CHUNK_BYTES))
    if isinstance(response.sock, ssl.SSLSocket):
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

    OpenSSL hands over one TLS record (at most 16 KiB) per read. Writing and accounting for
    each would cost a system call and the sink's Python work per record, so the records are
    gathered while more are already waiting (decrypted in OpenSSL, or readable on the socket:
    ``poll`` with no timeout) up to :data:`TLS_BATCH_BYTES`; when the server pauses, what has
    come is written at once, so progress and the lowest-speed rule never wait for a batch.
    Under a rate limit (``read_bytes``) each read takes at most what the limit allows now and
    is written and reported at once, so the limit's pauses see every byte.
    """
    batch = min(chunk, TLS_BATCH_BYTES)
    buffer = memoryview(bytearray(batch))
    sock = response.sock
    assert isinstance(sock, ssl.SSLSocket)
    waiting = select.poll()
    waiting.register(sock.fileno(), select.POLLIN)
    filled = 0
    while length > filled:
        step = batch if read_bytes is None else max(1, min(batch, read_bytes(batch)))
        try:
            got = sock.recv_into(buffer[filled:], min(batch, length, filled + step) - filled)
            _check_running(response, got)
        except OSError:  # the link failed (or was stopped): keep what had come, then say so
            if filled:
                _write_all(fd, buffer[:filled])
                on_bytes(filled)
            raise
        filled += got
        limited = read_bytes is not None and step < batch
        if filled in (batch, length) or limited or not (sock.pending() or waiting.poll(0)):
            _write_all(fd, buffer[:filled])
            length -= filled
            filled, written = 0, filled
            on_bytes(written)


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
