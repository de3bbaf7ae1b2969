"""Reading one HTTP/1.x request off a stream, strictly: anything malformed is an :class:`HTTPError`.

The control API's clients are our own (the command line, :class:`~uidt.JobScheduler`), so the
reader accepts exactly what RFC 9112 says a request is and refuses the rest with a 4xx instead of
guessing: every line ends with CRLF (a bare LF or CR is refused), the request line is
``METHOD SP /target SP HTTP/1.1`` (or ``HTTP/1.0``), header names are tokens with the colon right
after them, no folded lines, at most one ``Content-Length`` (digits only) and one
``Transfer-Encoding`` (exactly ``chunked``, and never together with ``Content-Length``, nor on
HTTP/1.0), chunk-size lines of hex digits that fit in a short line, and a body that is as long
as announced. These are the ambiguities request smuggling lives on; answering them 400 and
closing the connection leaves nothing for a second reader to interpret differently.
"""

from __future__ import annotations

import asyncio
import re

#: Largest request head (request line and headers) accepted (larger: 431).
MAX_HEAD = 64 * 1024
#: Most header lines in one head.
MAX_HEADERS = 100
#: Longest chunk-size line (with its extensions) or trailer line.
MAX_CHUNK_LINE = 1024
#: A body larger than the limit is still read (up to this much) and dropped, so the client sees
#: the 413 answer instead of a broken pipe.
MAX_DISCARD = 16 * 1024 * 1024
#: Methods the server parses; any other is a 400.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
VERSIONS = frozenset({"HTTP/1.1", "HTTP/1.0"})

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_TARGET = re.compile(rb"^/[\x21-\x7e]*$")  # origin-form: visible ASCII, no spaces
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # controls other than HT
_HEX = re.compile(rb"^[0-9A-Fa-f]{1,15}$")
_UNIQUE = frozenset({"content-length", "transfer-encoding", "host"})


class HTTPError(Exception):
    """A protocol-level failure, answered with ``status`` and ``message``."""

    def __init__(self, status: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close


class Head:
    """A parsed request head: method, target, version and headers (names lower-cased)."""

    __slots__ = ("headers", "method", "target", "version")

    def __init__(self, method: str, target: str, version: str, headers: dict[str, str]) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may carry another request after this one."""
        connection = {t.strip() for t in self.headers.get("connection", "").lower().split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


async def read_line(reader: asyncio.StreamReader, limit: int, what: str) -> bytes:
    """One CRLF-terminated line (without the CRLF), at most ``limit`` bytes.

    Raises:
        HTTPError: 400 for a bare LF, a CR inside the line or a line over ``limit``.
        asyncio.IncompleteReadError: the stream ended first.
    """
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise HTTPError(431 if what == "header" else 400, f"{what} line too long") from None
    if len(line) > limit:
        raise HTTPError(431 if what == "header" else 400, f"{what} line too long")
    if not line.endswith(b"\r\n"):
        raise HTTPError(400, f"{what} line does not end with CRLF")
    line = line[:-2]
    if b"\r" in line:
        raise HTTPError(400, f"bare CR in a {what} line")
    return line


async def read_head(reader: asyncio.StreamReader, first_line: bytes | None = None) -> Head:
    """The next request head; ``first_line`` if the caller already read the request line.

    Raises:
        HTTPError: malformed (4xx, see the module docstring), or cut short after its first line.
        asyncio.IncompleteReadError: the stream ended within the request line.
    """
    line = first_line if first_line is not None else await read_line(reader, MAX_HEAD, "request")
    head = parse_request_line(line)
    size = len(line)
    while True:
        try:
            line = await read_line(reader, MAX_HEAD, "header")
        except asyncio.IncompleteReadError:
            raise HTTPError(400, "the request head ended early") from None
        if not line:
            break
        size += len(line) + 2
        if size > MAX_HEAD or len(head.headers) >= MAX_HEADERS:
            raise HTTPError(431, "request head too large")
        add_header(head.headers, line)
    check_framing(head)
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


async def read_body(reader: asyncio.StreamReader, head: Head, max_body: int) -> bytes:
    """The body ``head`` announces (``b""`` for none).

    Raises:
        HTTPError: 413 over ``max_body``; 400 malformed or shorter than announced.
    """
    try:
        if "transfer-encoding" in head.headers:
            return await _read_chunked(reader, max_body)
        length = int(head.headers.get("content-length", "0"))
        if length > max_body:
            if length <= MAX_DISCARD:  # read it anyway: the client then gets to read the 413
                await reader.readexactly(length)
            raise HTTPError(413, f"request body too large ({length} > {max_body} bytes)")
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise HTTPError(400, "the body ended before its announced length") from None


async def _read_chunked(reader: asyncio.StreamReader, max_body: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        line = await read_line(reader, MAX_CHUNK_LINE, "chunk-size")
        digits = line.split(b";", 1)[0].rstrip(b" \t")
        if not _HEX.match(digits):
            raise HTTPError(400, "bad chunk size")
        size = int(digits, 16)
        if size == 0:
            for _ in range(MAX_HEADERS + 1):  # trailers, ignored
                if not await read_line(reader, MAX_CHUNK_LINE, "trailer"):
                    return b"".join(chunks)
            raise HTTPError(400, "too many trailer lines")
        total += size
        if total > max_body:
            raise HTTPError(413, f"request body too large (> {max_body} bytes)")
        chunks.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise HTTPError(400, "bad chunk end")
