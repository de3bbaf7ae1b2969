"""Malformed HTTP/1.x requests, each with the answer a strict server owes it.

Shared by the control server's tests and the real-daemon tests. Every request targets
``/v1/ping`` (a POST there is a 405 once parsed, but each of these fails before routing).
"""

from __future__ import annotations

POST = b"POST /v1/ping HTTP/1.1\r\n"
GET = b"GET /v1/ping HTTP/1.1\r\n"

#: (name, request, expected status, whether the client half-closes after sending)
MALFORMED: list[tuple[str, bytes, int, bool]] = [
    ("LF-only line endings", b"GET /v1/ping HTTP/1.1\nHost: x\n\n", 400, False),
    ("a header line ending in LF", GET + b"Host: x\n\r\n", 400, False),
    ("a bare CR in a header", GET + b"Host: x\ry\r\n\r\n", 400, False),
    ("an empty request line", b"\r\n", 400, False),
    ("two spaces in the request line", b"GET  /v1/ping HTTP/1.1\r\n\r\n", 400, False),
    ("an absolute-form target", b"GET http://x/v1/ping HTTP/1.1\r\n\r\n", 400, False),
    ("a NUL in the target", b"GET /v1/e\x00cho HTTP/1.1\r\n\r\n", 400, False),
    ("HTTP/2.0", b"GET /v1/ping HTTP/2.0\r\n\r\n", 400, False),
    ("HTTP/1.2", b"GET /v1/ping HTTP/1.2\r\n\r\n", 400, False),
    ("HTTP/0.9 (no version)", b"GET /v1/ping\r\n\r\n", 400, False),
    ("a lower-case version", b"GET /v1/ping http/1.1\r\n\r\n", 400, False),
    ("a space before the colon", GET + b"Host : x\r\n\r\n", 400, False),
    ("a folded header line", GET + b"X-A: a\r\n b\r\n\r\n", 400, False),
    ("a control character in a value", GET + b"X-A: a\x01b\r\n\r\n", 400, False),
    ("two Host headers", GET + b"Host: a\r\nHost: b\r\n\r\n", 400, False),
    ("a duplicate Content-Length", POST + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\nab", 400, False),
    ("differing Content-Lengths", POST + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, False),
    ("a Content-Length list", POST + b"Content-Length: 2, 2\r\n\r\nab", 400, False),
    ("a negative Content-Length", POST + b"Content-Length: -1\r\n\r\n", 400, False),
    ("a signed Content-Length", POST + b"Content-Length: +2\r\n\r\nab", 400, False),
    ("a hex Content-Length", POST + b"Content-Length: 0x2\r\n\r\nab", 400, False),
    ("a short body (then EOF)", POST + b"Content-Length: 10\r\n\r\nabc", 400, True),
    ("a short body (kept open)", POST + b"Content-Length: 10\r\n\r\nabc", 408, False),
    ("a head never finished", GET + b"Host: x\r\n", 408, False),
    ("a head cut by EOF", GET + b"Host: x\r\n", 400, True),
    ("a body over the limit", POST + b"Content-Length: 200\r\n\r\n" + b"x" * 200, 413, False),
    ("Transfer-Encoding and Content-Length",
     POST + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, False),
    ("Transfer-Encoding xchunked", POST + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400, False),
    ("Transfer-Encoding chunked, gzip",
     POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400, False),
    ("Transfer-Encoding gzip", POST + b"Transfer-Encoding: gzip\r\n\r\n", 400, False),
    ("two Transfer-Encoding headers",
     POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, False),
    ("Transfer-Encoding on HTTP/1.0",
     b"POST /v1/ping HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, False),
    ("a negative chunk size", POST + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nabcde\r\n0\r\n\r\n", 400, False),
    ("a signed chunk size", POST + b"Transfer-Encoding: chunked\r\n\r\n+5\r\nabcde\r\n0\r\n\r\n", 400, False),
    ("a non-hex chunk size", POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, False),
    ("an over-long chunk-size line",
     POST + b"Transfer-Encoding: chunked\r\n\r\n" + b"0" * 2000 + b"\r\n\r\n", 400, False),
    ("a chunk-size line without an end",
     POST + b"Transfer-Encoding: chunked\r\n\r\n" + b"1" * 70_000, 400, False),
    ("a chunk-size line ending in LF", POST + b"Transfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n", 400, False),
    ("a chunk without its CRLF", POST + b"Transfer-Encoding: chunked\r\n\r\n2\r\nabXY0\r\n\r\n", 400, False),
    ("a chunked body over the limit",
     POST + b"Transfer-Encoding: chunked\r\n\r\n" + b"c8\r\n" + b"x" * 200 + b"\r\n0\r\n\r\n", 413, False),
    ("a chunked body cut by EOF", POST + b"Transfer-Encoding: chunked\r\n\r\n5\r\nab", 400, True),
    ("too many header lines", GET + b"".join(b"X-%d: v\r\n" % i for i in range(200)) + b"\r\n", 431, False),
    ("a 70 kB header line", GET + b"X-Big: " + b"v" * 70_000 + b"\r\n\r\n", 431, False),
    ("an unsupported method", b"BREW /v1/ping HTTP/1.1\r\n\r\n", 400, False),
]  # fmt: skip
