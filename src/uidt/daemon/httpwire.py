"""The strict gate in front of h11: one request head off a connection, refused unless RFC 9112-exact.

h11 (:mod:`uidt.daemon.exchange`) parses the control socket's requests, bodies and answers, but
it is lenient where ambiguity would let two readers disagree about a request: it takes bare-LF
line endings, folded header lines, control characters in header values, a repeated
``Content-Length`` with the same value or a list of equal values (``2, 2``), ``Transfer-Encoding``
together with ``Content-Length`` and on HTTP/1.0, any ``HTTP/d.d`` version, an absolute-form
target, any method token, and a head of any size that arrives in one read. Every request head
therefore passes this gate first, which accepts exactly what RFC 9112 says a request head is and
answers the rest with a 4xx (:class:`HTTPError`) before h11 sees a byte of it: every line ends
with CRLF (a bare LF or CR is refused), the request line is ``METHOD SP /target SP HTTP/1.1`` (or
``HTTP/1.0``), header names are tokens with the colon right after them, no folded lines, at most
one ``Host``, one ``Content-Length`` (digits only) and one ``Transfer-Encoding`` (exactly
``chunked``, and never together with ``Content-Length``, nor on HTTP/1.0); a head over
:data:`MAX_HEAD` bytes or :data:`MAX_HEADERS` lines is a 431.

h11 requires ``Host`` on HTTP/1.1 requests; it means nothing on a Unix socket and the control
API never asked for it, so the gate adds ``Host: localhost`` to a head that has none.
"""

from __future__ import annotations

import asyncio
import re

#: Largest request head (request line and headers) accepted (larger: 431).
MAX_HEAD = 64 * 1024
#: Most header lines in one head.
MAX_HEADERS = 100
#: How much is read off the socket at a time.
READ_SIZE = 64 * 1024
#: Methods the server parses; any other is a 400.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
VERSIONS = frozenset({"HTTP/1.1", "HTTP/1.0"})

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_TARGET = re.compile(rb"^/[\x21-\x7e]*$")  # origin-form: visible ASCII, no spaces
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # controls other than HT
_UNIQUE = frozenset({"content-length", "transfer-encoding", "host"})
#: What the gate adds to a head without ``Host`` (h11 requires one on HTTP/1.1).
_DEFAULT_HOST = b"Host: localhost\r\n"


class HTTPError(Exception):
    """A protocol-level failure, answered with ``status`` and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Head:
    """A request head that passed the gate.

    Attributes:
        method: upper-case method.
        target: the origin-form target (path and query), still percent-encoded.
        version: ``HTTP/1.1`` or ``HTTP/1.0``.
        headers: names lower-cased; a repeated field's values joined with ``", "``.
        raw: the head as received (with ``Host`` added if it had none), for h11.
    """

    __slots__ = ("headers", "method", "raw", "target", "version")

    def __init__(self, method: str, target: str, version: str, headers: dict[str, str]) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.raw = b""


class Inbox:
    """A connection's incoming bytes, with room to give back what one request did not use.

    The gate reads a head line by line from here; h11 is then fed the head and the bytes that
    follow, and whatever h11 received beyond the end of the request (the start of a pipelined
    next one) comes back through :meth:`give_back`, so that the next head passes the gate too.
    """

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._buffer = bytearray()

    def give_back(self, data: bytes) -> None:
        """Put ``data`` in front of what is still to be read."""
        self._buffer[:0] = data

    async def wait(self) -> bool:
        """Wait for the first byte of the next request; ``False`` if the connection ended."""
        if not self._buffer:
            self._buffer += await self._reader.read(READ_SIZE)
        return bool(self._buffer)

    async def some(self) -> bytes:
        """The next bytes (buffered ones first); ``b""`` at the end of the stream."""
        if self._buffer:
            data = bytes(self._buffer)
            self._buffer.clear()
            return data
        return await self._reader.read(READ_SIZE)

    async def line(self, limit: int, what: str) -> bytes:
        """One CRLF-terminated line (with its CRLF), at most ``limit`` bytes.

        Raises:
            HTTPError: 400 for a bare LF or a CR inside the line; 431 for a line over ``limit``
                (400 for a request line).
            asyncio.IncompleteReadError: the stream ended first.
        """
        scanned = 0
        while (end := self._buffer.find(b"\n", scanned)) < 0:
            scanned = len(self._buffer)
            if scanned > limit:
                raise HTTPError(431 if what == "header" else 400, f"{what} line too long")
            data = await self._reader.read(READ_SIZE)
            if not data:
                raise asyncio.IncompleteReadError(bytes(self._buffer), None)
            self._buffer += data
        line = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        if len(line) > limit:
            raise HTTPError(431 if what == "header" else 400, f"{what} line too long")
        if not line.endswith(b"\r\n"):
            raise HTTPError(400, f"{what} line does not end with CRLF")
        if b"\r" in line[:-2]:
            raise HTTPError(400, f"bare CR in a {what} line")
        return line


async def read_head(inbox: Inbox) -> Head:
    """The next request head, checked line by line as it arrives.

    Raises:
        HTTPError: malformed (4xx, see the module docstring), or cut short after its first line.
        asyncio.IncompleteReadError: the stream ended within the request line.
    """
    request_line = await inbox.line(MAX_HEAD, "request")
    head = parse_request_line(request_line[:-2])
    lines = [request_line]
    size = len(request_line)
    while True:
        try:
            line = await inbox.line(MAX_HEAD, "header")
        except asyncio.IncompleteReadError:
            raise HTTPError(400, "the request head ended early") from None
        lines.append(line)
        if line == b"\r\n":
            break
        size += len(line)
        if size > MAX_HEAD or len(lines) > MAX_HEADERS + 1:  # the request line, then headers
            raise HTTPError(431, "request head too large")
        add_header(head.headers, line[:-2])
    check_framing(head)
    if "host" not in head.headers:
        lines.insert(1, _DEFAULT_HOST)
    head.raw = b"".join(lines)
    return head


def parse_request_line(line: bytes) -> Head:
    """``METHOD /target HTTP/1.x`` (single spaces) as a :class:`Head` without headers."""
    parts = line.split(b" ")
    if len(parts) != 3:
        raise HTTPError(400, f"bad request line {line[:100].decode('latin-1')!r}")
    method, target, version = (p.decode("latin-1") for p in parts)
    if method not in METHODS:
        raise HTTPError(400, f"unsupported method {method[:20]!r}")
    if not _TARGET.match(parts[1]):
        raise HTTPError(400, "the request target must be a path")
    if version not in VERSIONS:
        raise HTTPError(400, f"unsupported HTTP version {version[:20]!r} (1.1 or 1.0)")
    return Head(method, target, version, {})


def add_header(headers: dict[str, str], line: bytes) -> None:
    """Add ``Name: value`` to ``headers``; a repeated field is joined with ``", "``."""
    name, sep, value = line.partition(b":")
    if not sep or not _TOKEN.match(name):  # also refuses "Name :" and folded lines
        raise HTTPError(400, f"bad header line {line[:100].decode('latin-1')!r}")
    if _BAD_VALUE.search(value):
        raise HTTPError(400, f"control character in header {name[:50].decode('latin-1')!r}")
    key = name.decode("latin-1").lower()
    text = value.strip(b" \t").decode("latin-1")
    if key in headers:
        if key in _UNIQUE:
            raise HTTPError(400, f"duplicate {name[:50].decode('latin-1')} header")
        text = f"{headers[key]}, {text}"
    headers[key] = text


def check_framing(head: Head) -> None:
    """Refuse any body framing two readers could disagree on."""
    encoding = head.headers.get("transfer-encoding")
    length = head.headers.get("content-length")
    if encoding is not None:
        if encoding.lower() != "chunked":
            raise HTTPError(400, f"unsupported Transfer-Encoding {encoding[:50]!r} (only chunked)")
        if length is not None:
            raise HTTPError(400, "both Transfer-Encoding and Content-Length")
        if head.version == "HTTP/1.0":
            raise HTTPError(400, "Transfer-Encoding on an HTTP/1.0 request")
    if length is not None and not (length.isdigit() and length.isascii() and len(length) <= 15):
        raise HTTPError(400, f"bad Content-Length {length[:50]!r}")
