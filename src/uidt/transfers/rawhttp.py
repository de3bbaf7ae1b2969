"""A small blocking HTTP/1.1 GET for downloads, ``http://`` and ``https://``.

Most of a download's time on a fast link goes into moving bytes from the socket to the page
cache. ``aiohttp`` reads each chunk into a Python ``bytes`` object on the event loop and the
engine writes it out again: two copies and a Python object per chunk. This module does what
``curl`` does: :func:`open_get` connects (over TLS for ``https://``), sends the request and
parses the head; :mod:`uidt.transfers.rawbody` then moves the body into the file in the
calling thread (``splice(2)`` for plain HTTP, ``recv_into`` a reused buffer for TLS).

``https://`` goes through the same request, head parsing and checks, over a
:class:`~uidt.transfers.tlsstream.TlsStream` (TLS driven through memory buffers on the same
kind of blocking socket, so a receive takes many records at once); its context comes from
:func:`uidt.transfers.tls.client_context` (the certificate and the host name checked, TLS 1.2
at least).

The upload engine sends its plain-HTTP bodies through the same connection and head
(:func:`send_head`, :func:`read_head`; the body with ``sendfile(2)`` in
:mod:`uidt.transfers.rawupload`).

Only what the engines need is here: one request per connection (``Connection:
close``), identity bodies with a ``Content-Length``, a plain ``http://`` request sent through
an HTTP proxy as an absolute-URI request (:class:`ProxyHop`). Redirects are followed one hop at
a time by :class:`~uidt.transfers.transport.Transports`; chunked bodies are left to the
``aiohttp`` path.

Everything here blocks; the engine runs it in a thread and stops it with
:meth:`RawResponse.abort`.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from uidt import __version__
from uidt.errors import TransferError
from uidt.timing import mark
from uidt.transfers.http import REDIRECT_STATUSES
from uidt.transfers.rawheaders import RawHeaders, TooManyFieldsError
from uidt.transfers.tlsstream import TlsStream

#: Largest response head accepted.
MAX_HEAD_BYTES = 64 * 1024
#: The default port of each scheme the reader speaks.
DEFAULT_PORTS = {"http": 80, "https": 443}

Connection = socket.socket | TlsStream
"""A connection to the server: the TCP socket (``http://``) or TLS over it (``https://``)."""


class ConnectFailedError(ConnectionError):
    """The server could not be reached (name lookup, refusal, connect timeout)."""

    def __init__(self, host: str, port: int, cause: OSError, *, proxy: bool = False) -> None:
        what = "the proxy " if proxy else ""
        super().__init__(f"cannot reach {what}{host}:{port} ({cause})")
        self.proxy = proxy
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
        sock: The connection, positioned at the start of the body after :attr:`leftover`.
        leftover: Body bytes that arrived together with the head.
    """

    status: int
    reason: str
    headers: RawHeaders
    sock: Connection
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
        """Make a :func:`copy_body` in another thread return soon (thread-safe).

        The close that follows resets the connection (``SO_LINGER`` 0): the server learns at
        once that nobody reads, even when it was waiting for a full receive window to open (a
        rate-limited reader), instead of holding the connection until its own timeout.
        """
        self._aborted.set()
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # The TCP socket's shutdown, also under TLS (TlsStream.shutdown): the TLS object
            # a reading thread may be using is never touched from here.
            self.sock.shutdown(socket.SHUT_RDWR)

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
    *,
    proxy: ProxyHop | None = None,
) -> Connection:
    host, port = (proxy.host, proxy.port) if proxy is not None else (target.host, target.port)
    try:
        sock = socket.create_connection((host, port), timeout=connect_timeout)
    except OSError as exc:
        raise ConnectFailedError(host, port, exc, proxy=proxy is not None) from exc
    if target.tls and proxy is not None:  # Transports.raw_fits sends these to aiohttp
        sock.close()
        raise ValueError("uidt's reader does not tunnel https:// through a proxy")
    # Blocking with SO_RCVTIMEO/SO_SNDTIMEO (not settimeout, which makes the socket
    # non-blocking and splice(2) would then return EAGAIN at once).
    sock.settimeout(None)
    timeval = struct.pack("ll", int(read_timeout), int(read_timeout % 1 * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if target.tls:
        return _handshake(sock, host, tls)
    return sock


def _handshake(sock: socket.socket, host: str, tls: ssl.SSLContext | None) -> TlsStream:
    """TLS over ``sock``, the server's certificate checked against ``host``.

    The socket's own timeouts (``SO_RCVTIMEO``) bound every wait, the handshake's too (uidt
    reads the socket, not OpenSSL). A certificate that is not accepted raises
    ``ssl.SSLCertVerificationError`` as it is (a permanent failure), any other handshake error
    an ``ssl.SSLError`` (a link failure).
    """
    if tls is None:  # never weaker than the defaults: verified, TLS 1.2 at least
        tls = ssl.create_default_context()
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        stream = TlsStream(sock, tls, host)
        stream.handshake()
    except BaseException:
        sock.close()
        raise
    return stream


def recv_some(sock: Connection, size: int) -> bytes:
    """Up to ``size`` bytes from ``sock`` (``b""`` at its end).

    Raises:
        TimeoutError: The server went quiet for the read timeout.
    """
    try:
        return sock.recv(size)
    except BlockingIOError as exc:  # SO_RCVTIMEO ran out
        raise TimeoutError("no data from the server") from exc


@dataclass(frozen=True)
class ProxyHop:
    """An HTTP proxy to send the request through, as an absolute-URI request."""

    host: str
    port: int
    authorization: str | None = None


def open_get(
    url: str,
    headers: Mapping[str, str],
    *,
    connect_timeout: float = 30.0,
    read_timeout: float = 60.0,
    tls: ssl.SSLContext | None = None,
    proxy: ProxyHop | None = None,
) -> RawResponse:
    """Send ``GET url`` with ``headers`` and read the response head (blocking).

    With ``proxy`` the connection goes to the proxy, never to the server: the request line
    carries the absolute URL (without ``user:password@``) and ``Proxy-Authorization`` the
    proxy's credentials (plain ``http://`` only).

    Args:
        url: An ``http://`` or ``https://`` URL.
        headers: Header fields to send (they win over the defaults).
        connect_timeout: Seconds to wait for the TCP connection.
        read_timeout: Seconds of silence from the server before giving up.
        tls: The TLS context for ``https://`` (``None``: the system's trust, verified).
        proxy: The HTTP proxy to send a plain ``http://`` request through.

    Raises:
        ConnectFailedError: The host cannot be reached.
        ssl.SSLCertVerificationError: The server's certificate was not accepted.
        ssl.SSLError: The TLS handshake or a TLS record failed.
        BadResponseError: The answer is not an HTTP/1.x response head.
        TimeoutError: The server went quiet for ``read_timeout`` seconds.
        ConnectionError: The connection broke.
    """
    sock = send_head(
        "GET",
        url,
        headers,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        tls=tls,
        proxy=proxy,
    )
    try:
        return read_head(sock)
    except BaseException:
        sock.close()
        raise


def send_head(
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    connect_timeout: float = 30.0,
    read_timeout: float = 60.0,
    tls: ssl.SSLContext | None = None,
    proxy: ProxyHop | None = None,
) -> Connection:
    """Connect and send the head of a ``method`` request for ``url`` (blocking); the socket,
    ready for a body or for :func:`read_head`. The arguments and errors are
    :func:`open_get`'s."""
    target = _target(url)
    request_target = target.path
    if proxy is not None:
        request_target = f"http://{target.host_header}{target.path}"
    lines = [f"{method} {request_target} HTTP/1.1", f"Host: {target.host_header}"]
    given = {name.lower() for name in headers}
    defaults = {"User-Agent": f"uidt/{__version__}", "Accept": "*/*"}
    if target.authorization is not None:  # a field given wins over the URL's user:password
        defaults["Authorization"] = target.authorization
    lines += [f"{name}: {value}" for name, value in defaults.items() if name.lower() not in given]
    lines.append("Connection: close")
    if proxy is not None and proxy.authorization is not None:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    sock = _connect(target, connect_timeout, read_timeout, tls, proxy=proxy)
    try:
        sock.sendall(request)
    except BaseException:
        sock.close()
        raise
    if method == "GET":
        mark("download.request_sent")
    return sock


def read_head(sock: Connection) -> RawResponse:
    """Read a response head from ``sock`` (blocking); the body stays in the socket.

    Raises:
        BadResponseError: The answer is not an HTTP/1.x response head.
        BodyEndedError: The server closed the connection without an answer.
        TimeoutError: The server went quiet for the read timeout.
    """
    data = b""
    while True:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            break
        if len(data) > MAX_HEAD_BYTES:
            raise BadResponseError(f"the response head is over {MAX_HEAD_BYTES} bytes")
        more = recv_some(sock, 65536)
        if not more:
            raise BodyEndedError("the server closed the connection without an answer")
        data += more
    status_line, _, header_block = data[:end].partition(b"\r\n")
    version, _, rest = status_line.decode("latin-1").partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise BadResponseError(f"not an HTTP/1.x response: {status_line[:80]!r}")
    try:
        fields = RawHeaders.parse(header_block)
    except TooManyFieldsError as exc:
        raise BadResponseError(str(exc)) from None
    return RawResponse(int(code), reason.strip(), fields, sock, data[end + 4 :])


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
        proxy: ProxyHop | None = None,
    ) -> None:
        self.url, self.headers, self.read_timeout, self.tls = url, headers, read_timeout, tls
        self.proxy = proxy
        self._lock = threading.Lock()
        self._response: RawResponse | None = None
        self._abandoned = False

    def open(self) -> RawResponse:
        """:func:`open_get` (blocking: call it in the other thread)."""
        response = open_get(
            self.url, self.headers, read_timeout=self.read_timeout, tls=self.tls, proxy=self.proxy
        )
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
