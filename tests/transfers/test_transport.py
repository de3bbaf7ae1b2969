"""The transport seam: which reader takes an answer, and a garbled answer on either."""

from __future__ import annotations

import asyncio
import email.message
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from uidt.errors import RetryLaterError
from uidt.testing.httpserver import RecordingSleep
from uidt.transfers.bodysink import BodySink
from uidt.transfers.download import download
from uidt.transfers.partfile import checkpoint_path, part_path
from uidt.transfers.retry import RetryPolicy
from uidt.transfers.transport import takes_raw


class _Head:
    def __init__(self, status: int, **fields: str) -> None:
        self.status = status
        self.reason = ""
        self.headers = email.message.Message()
        for name, value in fields.items():
            self.headers[name.replace("_", "-")] = value
        length = self.headers.get("Content-Length")
        self.content_length = int(length) if length is not None else None

    async def pour(self, sink: BodySink) -> None:
        raise AssertionError("not read here")


@pytest.mark.parametrize(
    ("head", "raw"),
    [
        (_Head(200, Content_Length="10"), True),
        (_Head(206, Content_Length="10", Content_Range="bytes 0-9/10"), True),
        (_Head(200, Content_Length="10", Transfer_Encoding="identity"), True),
        (_Head(200), False),  # no length: read until the end, aiohttp's job
        (_Head(200, Transfer_Encoding="chunked"), False),
        (_Head(206, Transfer_Encoding="chunked"), False),
        (_Head(100, Content_Length="10"), False),  # informational
        *[(_Head(status, Location="/x"), False) for status in (301, 302, 303, 307, 308)],
        (_Head(404), True),  # an error status: judged without its body
        (_Head(503, Retry_After="5"), True),
        (_Head(416, Content_Range="bytes */10"), True),
    ],
    ids=lambda value: str(getattr(value, "status", value)),
)
def test_which_answers_the_splice_reader_takes(head: _Head, raw: bool) -> None:
    assert takes_raw(head) is raw


#: Answers no HTTP/1.1 client may take: not HTTP at all, and a body framed two ways at once
#: (``Content-Length`` with ``Transfer-Encoding: chunked``, the request-smuggling shape).
GARBLED = {
    "not-http": b"SPAM 200 OK\r\nContent-Length: 4\r\n\r\nspam",
    "two-framings": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\nspam\r\n0\r\n\r\n"
    ),
}


@pytest.fixture(params=sorted(GARBLED))
async def garbling_server(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A server that answers every request with the same garbled answer."""
    answer_bytes = GARBLED[request.param]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer_bytes)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/file.bin"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("raw_http", [True, False], ids=["splice", "aiohttp"])
async def test_a_garbled_answer_is_retried_then_left_for_later_on_either_reader(
    garbling_server: str, tmp_path: Path, raw_http: bool
) -> None:
    dest = tmp_path / "file.bin"
    no_wait = RecordingSleep()
    with pytest.raises(RetryLaterError, match="gave up after repeated errors"):
        await download(
            garbling_server,
            dest,
            raw_http=raw_http,
            retries=RetryPolicy(link_retries=2),
            sleep=no_wait,
        )
    assert len(no_wait.delays) == 2  # retried like a reset, then left for a later run
    assert not dest.exists()
    assert not part_path(dest).exists()
    assert not checkpoint_path(dest).exists()
