"""A small blocking HTTP/1.1 GET for downloads: splice(2) for ``http://``, ``recv_into`` for TLS.

Most of a download's time on a fast link goes into moving bytes from the socket to the page
cache. ``aiohttp`` reads each chunk into a Python ``bytes`` object on the event loop and the
engine writes it out again: two copies and a Python object per chunk. For plain HTTP this
module does what ``curl`` does, minus one copy: :func:`open_get` sends the request and parses
the head, and :func:`copy_body` moves the body straight from the socket into the file through a
pipe with ``splice(2)`` (``socket → pipe → file``: the bytes never enter user space), in the
calling thread, with the GIL released. Where ``splice`` is missing, or when the caller needs to
see the bytes (a running SHA-256), it falls back to ``recv_into`` a reused buffer + ``write``.

``https://`` goes through the same request, head parsing and checks, over a blocking
``ssl.SSLSocket`` (the context comes from :func:`uidt.transfers.tls.client_context`: the
certificate and host name checked, TLS 1.2 at least). The kernel cannot splice what it does not
decrypt, so a TLS body is read with ``recv_into`` a large reused buffer (OpenSSL decrypts
straight into it) and written from there: one copy in user space, no Python object per
record, the GIL released in both calls. ``aiohttp`` would instead copy every record through a
memory BIO, a ``bytes`` object and its stream buffer on the event loop.

Only what the download engine needs is here: one request per connection (``Connection:
close``), identity bodies with a ``Content-Length``. Anything else (redirects, chunked bodies)
is left to the ``aiohttp`` path: :attr:`RawResponse.streamable` says which.

Everything here blocks; the engine runs it in a thread and stops it with
:meth:`RawResponse.abort`.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import http.client
import io
import os
import select
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from uidt import __version__
from uidt.errors import TransferError
from uidt.timing import mark
from uidt.transfers.http import REDIRECT_STATUSES

#: Largest response head accepted.
MAX_HEAD_BYTES = 64 * 1024
#: Bytes asked for per ``splice``/``recv_into`` call.
CHUNK_BYTES = 1024 * 1024
#: The most decrypted TLS bytes gathered before one ``write`` (a buffer that stays in cache).
TLS_BATCH_BYTES = 256 * 1024
#: The default port of each scheme the reader speaks.
DEFAULT_PORTS = {"http": 80, "https": 443}
_F_SETPIPE_SZ = 1031
_SPLICE_FLAGS = 0x1 | 0x4  # SPLICE_F_MOVE | SPLICE_F_MORE
_HAS_SPLICE = hasattr(os, "splice")

OnBytes = Callable[[int], None]
"""Called after each write with the number of bytes written."""


class ConnectFailedError(ConnectionError):
    """The server could not be reached (name lookup, refusal, connect timeout)."""

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        super().__init__(f"cannot reach {host}:{port} ({cause})")
        self.host = host
        self.port = port
        self.os_error = cause


class BodyEndedError(ConnectionError):
    """The connection ended before the whole body arrived."""


class BadResponseError(ConnectionError):
    """The server's answer was not HTTP/1.x (a transient fault: retried like a reset)."""


@dataclass
class RawResponse:
    """The head of a response and the socket its body is still waiting in.

    Attributes:
        status: The status code.
        reason: The reason phrase.
        headers: The header fields (case-insensitive ``get``).
        sock: The connected socket, positioned at the start of the body after :attr:`leftover`.
        leftover: Body bytes that arrived together with the head.
    """

    status: int
    reason: str
    headers: http.client.HTTPMessage
    sock: socket.socket
    leftover: bytes = b""
    _aborted: threading.Event = field(default_factory=threading.Event)

    @property
    def content_length(self) -> int | None:
        """``Content-Length`` as an int, ``None`` when missing or invalid."""
        value = (self.headers.get("Content-Length") or "").strip()
        return int(value) if value.isdigit() else None

    @property
    def streamable(self) -> bool:
        """Whether :func:`copy_body` can take the body: no redirect, a length, no chunking."""
        coding = (self.headers.get("Transfer-Encoding") or "identity").strip().lower()
        return (
            self.status not in REDIRECT_STATUSES
            and self.status >= 200
            and coding == "identity"
            and self.content_length is not None
        )

    @property
    def aborted(self) -> bool:
        """Whether :meth:`abort` was called."""
        return self._aborted.is_set()

    def abort(self) -> None:
        """Make a :func:`copy_body` in another thread return soon (thread-safe)."""
        self._aborted.set()
        with contextlib.suppress(OSError):
            # The plain socket's shutdown, also under TLS: ``SSLSocket.shutdown`` would drop
            # the TLS object a reading thread may be about to use.
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(OSError):
            self.sock.close()


@dataclass(frozen=True)
class _Target:
    host: str
    port: int
    host_header: str
    path: str  # the request target: path and query
    authorization: str | None  # Basic credentials from ``user:password@`` in the URL
    tls: bool  # ``https://``


def _target(url: str) -> _Target:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise TransferError(
            f"bad URL {url!r}: the raw reader takes only absolute http:// and https:// URLs"
        )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
    return _Target(
        host=parts.hostname,
        port=parts.port or DEFAULT_PORTS[scheme],
        host_header=parts.netloc.rpartition("@")[2],
        path=path,
        authorization=authorization,
        tls=scheme == "https",
    )


def _connect(
    target: _Target,
    connect_timeout: float,
    read_timeout: float,
    tls: ssl.SSLContext | None,
) -> socket.socket:
    host, port = target.host, target.port
    try:
        sock = socket.create_connection((host, port), timeout=connect_timeout)
    except OSError as exc:
        raise ConnectFailedError(host, port, exc) from exc
    if target.tls:
        return _handshake(sock, host, read_timeout, tls)
    # Blocking with SO_RCVTIMEO/SO_SNDTIMEO (not settimeout, which makes the socket
    # non-blocking and splice(2) would then return EAGAIN at once).
    sock.settimeout(None)
    timeval = struct.pack("ll", int(read_timeout), int(read_timeout % 1 * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _handshake(
    sock: socket.socket, host: str, read_timeout: float, tls: ssl.SSLContext | None
) -> ssl.SSLSocket:
    """``sock`` wrapped in TLS, the server's certificate checked against ``host``.

    The TLS socket keeps a Python timeout (no splice here, so it may wait in ``poll``):
    OpenSSL retries a read that ``SO_RCVTIMEO`` interrupted, a timeout in Python does not.
    A certificate that is not accepted raises ``ssl.SSLCertVerificationError`` as it is
    (a permanent failure), any other handshake error an ``ssl.SSLError`` (a link failure).
    """
    if tls is None:  # never weaker than the defaults: verified, TLS 1.2 at least
        tls = ssl.create_default_context()
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        sock.settimeout(read_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return tls.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def _recv(sock: socket.socket, size: int) -> bytes:
    try:
        return sock.recv(size)
    except BlockingIOError as exc:  # SO_RCVTIMEO ran out
        raise TimeoutError("no data from the server") from exc


def open_get(
    url: str,
    headers: Mapping[str, str],
    *,
    connect_timeout: float = 30.0,
    read_timeout: float = 60.0,
    tls: ssl.SSLContext | None = None,
) -> RawResponse:
    """Send ``GET url`` with ``headers`` and read the response head (blocking).

    Args:
        url: An ``http://`` or ``https://`` URL.
        headers: Header fields to send (they win over the defaults).
        connect_timeout: Seconds to wait for the TCP connection.
        read_timeout: Seconds of silence from the server before giving up.
        tls: The TLS context for ``https://`` (``None``: the system's trust, verified).

    Raises:
        ConnectFailedError: The host cannot be reached.
        ssl.SSLCertVerificationError: The server's certificate was not accepted.
        ssl.SSLError: The TLS handshake or a TLS record failed.
        BadResponseError: The answer is not an HTTP/1.x response head.
        TimeoutError: The server went quiet for ``read_timeout`` seconds.
        ConnectionError: The connection broke.
    """
    target = _target(url)
    lines = [f"GET {target.path} HTTP/1.1", f"Host: {target.host_header}"]
    given = {name.lower() for name in headers}
    defaults = {"User-Agent": f"uidt/{__version__}", "Accept": "*/*"}
    if target.authorization is not None:  # a field given wins over the URL's user:password
        defaults["Authorization"] = target.authorization
    lines += [f"{name}: {value}" for name, value in defaults.items() if name.lower() not in given]
    lines.append("Connection: close")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    sock = _connect(target, connect_timeout, read_timeout, tls)
    try:
        sock.sendall(request)
        mark("download.request_sent")
        data = b""
        while True:
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(data) > MAX_HEAD_BYTES:
                raise BadResponseError(f"the response head is over {MAX_HEAD_BYTES} bytes")
            more = _recv(sock, 65536)
            if not more:
                raise BodyEndedError("the server closed the connection without an answer")
            data += more
        status_line, _, header_block = data[:end].partition(b"\r\n")
        version, _, rest = status_line.decode("latin-1").partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise BadResponseError(f"not an HTTP/1.x response: {status_line[:80]!r}")
        message = http.client.parse_headers(io.BytesIO(header_block + b"\r\n\r\n"))
        return RawResponse(int(code), reason.strip(), message, sock, data[end + 4 :])
    except BaseException:
        sock.close()
        raise


class Opening:
    """One :func:`open_get` run in another thread, whose connection is closed if the caller
    gives up on it (:meth:`abandon`) while that thread is still connecting.
    """

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        read_timeout: float,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.url, self.headers, self.read_timeout, self.tls = url, headers, read_timeout, tls
        self._lock = threading.Lock()
        self._response: RawResponse | None = None
        self._abandoned = False

    def open(self) -> RawResponse:
        """:func:`open_get` (blocking: call it in the other thread)."""
        response = open_get(self.url, self.headers, read_timeout=self.read_timeout, tls=self.tls)
        with self._lock:
            self._response = response
            if self._abandoned:
                response.close()
        return response

    def abandon(self) -> None:
        """Close the connection now or as soon as it is open (thread-safe)."""
        with self._lock:
            self._abandoned = True
            if self._response is not None:
                self._response.close()


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
        more = _recv(response.sock, count - len(data))
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
) -> None:
    """Append the next ``length`` body bytes of ``response`` to ``fd`` (blocking).

    Args:
        response: A response from :func:`open_get`.
        fd: A file open for writing at the position where the body goes.
        length: Bytes to copy (the rest of the body).
        on_bytes: Called after each write; it may raise to stop the copy.
        chunk_bytes: The most bytes moved between two calls of ``on_bytes``.

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
        _tls_body(response, fd, length, on_bytes, chunk)
    elif _HAS_SPLICE:
        _splice_body(response, fd, length, on_bytes, chunk)
    else:
        _recv_body(response, fd, length, on_bytes, chunk)


def _check_running(response: RawResponse, got: int) -> None:
    if not got:
        why = "the transfer was stopped" if response.aborted else "the body ended early"
        raise BodyEndedError(why)


def _recv_body(response: RawResponse, fd: int, length: int, on_bytes: OnBytes, chunk: int) -> None:
    buffer = memoryview(bytearray(chunk))
    sock = response.sock
    while length > 0:
        try:
            got = sock.recv_into(buffer, min(chunk, length))
        except BlockingIOError as exc:
            raise TimeoutError("no data from the server") from exc
        _check_running(response, got)
        _write_all(fd, buffer[:got])
        on_bytes(got)
        length -= got


def _tls_body(response: RawResponse, fd: int, length: int, on_bytes: OnBytes, chunk: int) -> None:
    """Decrypt the body into one reused buffer and write it out in batches.

    OpenSSL hands over one TLS record (at most 16 KiB) per read. Writing and accounting for
    each would cost a system call and the sink's Python work per record, so the records are
    gathered while more are already waiting (decrypted in OpenSSL, or readable on the socket:
    ``poll`` with no timeout) up to :data:`TLS_BATCH_BYTES`; when the server pauses, what has
    come is written at once, so progress and the lowest-speed rule never wait for a batch.
    """
    batch = min(chunk, TLS_BATCH_BYTES)
    buffer = memoryview(bytearray(batch))
    sock = response.sock
    assert isinstance(sock, ssl.SSLSocket)
    waiting = select.poll()
    waiting.register(sock.fileno(), select.POLLIN)
    filled = 0
    while length > filled:
        try:
            got = sock.recv_into(buffer[filled:], min(batch, length) - filled)
            _check_running(response, got)
        except OSError:  # the link failed (or was stopped): keep what had come, then say so
            if filled:
                _write_all(fd, buffer[:filled])
                on_bytes(filled)
            raise
        filled += got
        if filled in (batch, length) or not (sock.pending() or waiting.poll(0)):
            _write_all(fd, buffer[:filled])
            length -= filled
            filled, written = 0, filled
            on_bytes(written)


def _splice_body(
    response: RawResponse, fd: int, length: int, on_bytes: OnBytes, chunk: int
) -> None:
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    try:
        with contextlib.suppress(OSError):  # over /proc/sys/fs/pipe-max-size: keep 64 KiB
            fcntl.fcntl(write_end, _F_SETPIPE_SZ, CHUNK_BYTES)
        source = response.sock.fileno()
        while length > 0:
            try:
                got = os.splice(source, write_end, min(chunk, length), flags=_SPLICE_FLAGS)
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
