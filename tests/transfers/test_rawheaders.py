"""RawHeaders: the response head's fields, parsed without http.client (and what a server that
sends odd heads gets)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from uidt.transfers.rawheaders import MAX_FIELDS, RawHeaders, TooManyFieldsError


def test_fields_are_found_in_any_case_first_value_first() -> None:
    headers = RawHeaders.parse(
        b'Content-Length: 10\r\nETag: "v1"\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n'
    )
    assert headers.get("content-length") == "10"
    assert headers.get("ETAG") == '"v1"'
    assert headers.get("Set-Cookie") == "a=1"
    assert headers.get_all("SET-COOKIE") == ["a=1", "b=2"]
    assert headers.get("Location") is None
    assert headers.get("Upload-Offset", "") == ""
    assert "etag" in headers
    assert "Location" not in headers
    assert len(headers) == 4


def test_values_are_trimmed_latin_1_and_folded_lines_go_on() -> None:
    headers = RawHeaders.parse(
        b"X-Spaced: \t padded \t\r\nX-Folded: one\r\n  two\r\n\tthree\r\nX-Latin: caf\xe9\n"
    )
    assert headers.get("X-Spaced") == "padded"
    assert headers.get("X-Folded") == "one two three"
    assert headers.get("X-Latin") == "caf\u00e9"


def test_lines_that_are_not_fields_are_skipped() -> None:
    headers = RawHeaders.parse(b"garbage line\r\n: no name\r\nBad Name : x\r\nGood: yes\r\n")
    assert headers.items() == [("Good", "yes")]
    assert headers.get("Bad Name") is None


def test_a_head_with_too_many_fields_is_refused() -> None:
    block = b"".join(b"X-%d: v\r\n" % n for n in range(MAX_FIELDS + 1))
    with pytest.raises(TooManyFieldsError, match="over 100 fields"):
        RawHeaders.parse(block)
    assert len(RawHeaders.parse(block[: block.index(b"X-100")])) == MAX_FIELDS


def test_the_raw_reader_loads_neither_http_client_nor_email() -> None:
    """What a worker's first plain-http download imports stays small (about 10 ms less)."""
    code = (
        "import sys, uidt.transfers.rawhttp, uidt.transfers.rawtransport; "
        "print(sorted(m for m in sys.modules if m == 'http.client' or m.startswith('email')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
