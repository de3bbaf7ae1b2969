"""The client's own reader of the daemon's answers (``uidt.app.httpanswer``), byte by byte.

The socket-level cases (a real peer on a Unix socket) are in ``test_connection.py``; here the
reader gets its bytes from a list, in pieces as small as one byte, so every boundary is hit.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from uidt.app.httpanswer import MAX_HEAD, MalformedAnswer, read_answer


def _pieces(data: bytes, size: int) -> Callable[[int], bytes]:
    """A ``recv`` handing out ``data`` ``size`` bytes at a time, then b"" (the peer's end)."""
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    calls = iter(chunks)

    def recv(limit: int) -> bytes:
        chunk = next(calls, b"")
        assert len(chunk) <= limit
        return chunk

    return recv


def _read(data: bytes, size: int = 1, method: str = "GET") -> tuple[int, bytes]:
    return read_answer(_pieces(data, size), method)


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
    b'4;name=value\r\n{"a"\r\n4\r\n: 2}\r\n0\r\nX-Trailer: 1\r\n\r\n'
)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 65536])
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", (200, b"{}")),
        (b"HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\n\r\nabcEXTRA", (404, b"abc")),
        (CHUNKED, (200, b'{"a": 2}')),
        (b"HTTP/1.0 200\r\n\r\nuntil the end", (200, b"until the end")),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 \r\nContent-Length: 0\r\n\r\n", (201, b"")),
        (b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", (204, b"")),
        (
            b"HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Tab:\ta\tb \r\nContent-Length: 1\r\n\r\nz",
            (200, b"z"),
        ),
    ],
    ids=["length", "lower-case name", "chunked", "to the end", "interim", "204", "odd values"],
)
def test_an_answer_in_pieces_of_any_size(
    answer: bytes, expected: tuple[int, bytes], size: int
) -> None:
    assert _read(answer, size) == expected


def test_the_answer_to_head_has_no_body() -> None:
    assert _read(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", method="HEAD") == (200, b"")


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (b"", "without an answer"),
        (b"HTTP/1.1 100 Continue\r\n\r\n", "without an answer"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", "in the middle"),
        (b"HTTP/2 200\r\n\r\n", "status line"),
        (b"HTTP/1.1 20 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 200 O\x00K\r\n\r\n", "control character"),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", "switched"),
        (b"HTTP/1.1 200 OK\r\nX-Long: a\r\n  folded\r\nContent-Length: 0\r\n\r\n", "header"),
        (b"HTTP/1.1 200 OK\r\nX Space: a\r\n\r\n", "header"),
        (b"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", "header"),
        (b"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", "header"),
        (b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", "control character"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", "Content-Length"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "both",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            "Transfer-Encoding",
        ),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", "chunk"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n", "in the middle"),
    ],
    ids=[
        "nothing",
        "only an interim answer",
        "the head cut off",
        "another version",
        "a two-digit status",
        "a NUL in the reason",
        "101",
        "a folded header line",
        "a space in a name",
        "no colon",
        "an empty name",
        "a bare CR in a value",
        "a negative length",
        "two lengths, even equal",
        "length and chunked",
        "chunked not alone",
        "a chunk longer than its size",
        "an empty chunk size",
        "no last chunk",
    ],
)
def test_a_broken_answer_is_malformed(answer: bytes, words: str) -> None:
    for size in (1, 65536):
        with pytest.raises(MalformedAnswer, match=words):
            _read(answer, size)


def test_an_endless_head_is_refused_once_it_passes_the_limit() -> None:
    """A peer sending header lines forever is not read forever: the reader stops once the
    head has passed :data:`MAX_HEAD` (plus at most one read)."""
    sent = 0

    def recv(limit: int) -> bytes:
        nonlocal sent
        sent += limit
        assert sent < 4 * MAX_HEAD, "still reading"
        return b"X-Filler: " + b"a" * (limit - 12) + b"\r\n"

    with pytest.raises(MalformedAnswer, match="longer than"):
        read_answer(recv, "GET")


def test_an_endless_chunk_size_line_is_refused() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    endless = [head, *([b"0" * 65536] * 8)]

    def recv(_limit: int) -> bytes:
        assert endless, "still reading"
        return endless.pop(0)

    with pytest.raises(MalformedAnswer, match="chunk-size line longer than"):
        read_answer(recv, "GET")
