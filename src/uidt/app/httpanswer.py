"""Reading the daemon's HTTP/1.1 answer to one request: its status and its body.

The client side of the control socket sends one request per connection (``Connection: close``)
and needs only the status and the body of the answer. This reader does that and nothing more,
strictly: a status line ``HTTP/1.x NNN``, header lines ``name: value`` (no folded lines, no
control characters), then a body framed by one ``Content-Length``, by ``Transfer-Encoding:
chunked`` (sizes and chunk ends checked), or by the end of the connection. Interim ``1xx``
answers are skipped; bytes after the answer are left unread. Anything else is a
:class:`MalformedAnswer`.

It replaces h11 on this side: h11 (the daemon's parser, :mod:`uidt.daemon.exchange`) costs every
``uidt`` command and app about 10 ms of start-up CPU to import (its event classes and
patterns), and ``uidt download --wait`` waits for that before its request leaves.
"""

from __future__ import annotations

from collections.abc import Callable

#: The longest head (status line and headers) or chunk-size line accepted.
MAX_HEAD = 64 * 1024
#: Bytes asked of the socket at a time.
RECV_SIZE = 65536
#: Characters of a header name (RFC 9110's ``token``).
_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
#: Control characters a header value must not hold (a horizontal tab is allowed).
_CONTROL = frozenset(range(32)) - {9} | {127}
_HEX = frozenset(b"0123456789abcdefABCDEF")
#: Answers that have no body whatever their headers say.
_NO_BODY = frozenset({204, 304})


class MalformedAnswer(Exception):
    """The bytes that came back are not an HTTP/1.1 answer (the caller reports a lost
    connection, :class:`uidt.errors.DaemonConnectionLost`)."""


class _Input:
    """The bytes read so far and the socket's ``recv``."""

    def __init__(self, recv: Callable[[int], bytes]) -> None:
        self._recv = recv
        self.buffer = bytearray()
        self.ended = False

    def more(self) -> None:
        """Read once more; :class:`MalformedAnswer` when the peer had already ended."""
        if self.ended:
            raise MalformedAnswer("the daemon closed the connection in the middle of its answer")
        data = self._recv(RECV_SIZE)
        if data:
            self.buffer += data
        else:
            self.ended = True

    def until(self, mark: bytes, limit: int, what: str) -> bytes:
        """The bytes before the next ``mark`` (taken with it), at most ``limit`` of them."""
        start = 0
        while True:
            found = self.buffer.find(mark, start)
            if found >= 0:
                taken = bytes(self.buffer[:found])
                del self.buffer[: found + len(mark)]
                return taken
            if len(self.buffer) > limit:
                raise MalformedAnswer(f"{what} longer than {limit} bytes")
            start = max(len(self.buffer) - len(mark) + 1, 0)
            self.more()

    def exactly(self, count: int) -> bytes:
        """The next ``count`` bytes."""
        while len(self.buffer) < count:
            self.more()
        taken = bytes(self.buffer[:count])
        del self.buffer[:count]
        return taken

    def rest(self) -> bytes:
        """Every byte up to the end of the connection."""
        while not self.ended:
            self.more()
        taken = bytes(self.buffer)
        self.buffer.clear()
        return taken


def _status(line: bytes) -> int:
    """The status code of ``HTTP/1.0 NNN reason`` or ``HTTP/1.1 NNN reason``."""
    version, _, rest = line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise MalformedAnswer(f"not an HTTP/1.1 status line: {line[:80]!r}")
    if _CONTROL.intersection(reason):
        raise MalformedAnswer("a control character in the status line")
    return int(code)


def _headers(lines: list[bytes]) -> dict[bytes, list[bytes]]:
    """Header values by lower-case name (folded lines and stray characters refused)."""
    headers: dict[bytes, list[bytes]] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not name or not _TOKEN.issuperset(name):
            raise MalformedAnswer(f"not a header line: {line[:80]!r}")
        value = value.strip(b" \t")
        if _CONTROL.intersection(value):
            raise MalformedAnswer(f"a control character in header {name.decode()!r}")
        headers.setdefault(name.lower(), []).append(value)
    return headers


def _content_length(values: list[bytes]) -> int:
    if len(values) != 1 or not values[0].isdigit():
        raise MalformedAnswer(f"not one Content-Length: {b', '.join(values)[:80]!r}")
    return int(values[0])


def _chunked(source: _Input) -> bytes:
    """A chunked body: each size line (extensions ignored), its bytes and their CRLF, up to the
    last (zero) chunk and its trailer block."""
    parts: list[bytes] = []
    while True:
        size_line = source.until(b"\r\n", MAX_HEAD, "a chunk-size line")
        digits = size_line.partition(b";")[0].strip(b" \t")
        if not digits or not _HEX.issuperset(digits):
            raise MalformedAnswer(f"not a chunk size: {size_line[:80]!r}")
        size = int(digits, 16)
        if size == 0:
            break
        parts.append(source.exactly(size))
        if source.exactly(2) != b"\r\n":
            raise MalformedAnswer("a chunk does not end where its size says")
    while source.until(b"\r\n", MAX_HEAD, "a trailer line"):
        pass  # trailer fields: nothing the client uses
    return b"".join(parts)


def read_answer(recv: Callable[[int], bytes], method: str) -> tuple[int, bytes]:
    """Read one answer to a ``method`` request with ``recv`` (a socket's): (status, body).

    Raises :class:`MalformedAnswer` for anything that is not a whole HTTP/1.1 answer (the
    socket's own errors, a timeout among them, pass through).
    """
    source = _Input(recv)
    while True:
        if not source.buffer:
            source.more()
            if source.ended:
                raise MalformedAnswer("the daemon closed the connection without an answer")
        head = source.until(b"\r\n\r\n", MAX_HEAD, "the answer's head")
        status_line, *lines = head.split(b"\r\n")
        status = _status(status_line)
        headers = _headers(lines)
        if status >= 200:
            break
        if status == 101:
            raise MalformedAnswer("the daemon switched protocols")
        # an interim answer (100 Continue): the real one follows
    if method == "HEAD" or status in _NO_BODY:
        return status, b""
    encodings = headers.get(b"transfer-encoding")
    lengths = headers.get(b"content-length")
    if encodings is not None:
        if lengths is not None:
            raise MalformedAnswer("both Transfer-Encoding and Content-Length")
        if [value.lower() for value in encodings] != [b"chunked"]:
            raise MalformedAnswer(f"an unknown Transfer-Encoding: {b', '.join(encodings)[:80]!r}")
        return status, _chunked(source)
    if lengths is not None:
        return status, source.exactly(_content_length(lengths))
    return status, source.rest()
