"""The strict head gate in front of h11: what it hands on, and what a connection gets back."""

from __future__ import annotations

import asyncio

import pytest

from uidt.daemon.httpwire import HTTPError, Inbox, read_head


def _inbox(data: bytes, *, eof: bool = True) -> Inbox:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return Inbox(reader)


async def test_a_head_without_host_gets_one_for_h11() -> None:
    head = await read_head(_inbox(b"GET /v1/ping HTTP/1.1\r\nX-A: 1\r\n\r\n"))
    assert head.raw == b"GET /v1/ping HTTP/1.1\r\nHost: localhost\r\nX-A: 1\r\n\r\n"
    assert "host" not in head.headers  # the handlers see what was sent


async def test_a_head_with_host_is_handed_on_as_received() -> None:
    raw = b"POST /v1/x?a=1 HTTP/1.1\r\nhost: h\r\ncontent-length:  2 \r\n\r\n"
    head = await read_head(_inbox(raw + b"ab"))
    assert head.raw == raw
    assert (head.method, head.target, head.headers["content-length"]) == ("POST", "/v1/x?a=1", "2")


async def test_bytes_given_back_are_read_before_the_stream() -> None:
    inbox = _inbox(b"HTTP/1.1\r\n\r\n")
    inbox.give_back(b"GET / ")
    assert (await read_head(inbox)).raw == b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    assert await inbox.some() == b""
    assert not await inbox.wait()


async def test_a_bare_lf_is_refused_as_soon_as_its_line_arrives() -> None:
    with pytest.raises(HTTPError, match="CRLF") as refused:
        await read_head(_inbox(b"GET / HTTP/1.1\r\nHost: x\n", eof=False))  # no end: no wait
    assert refused.value.status == 400
