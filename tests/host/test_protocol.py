"""Frames: encode/decode round trip, and every malformed input is a ProtocolError."""

from __future__ import annotations

import asyncio
import struct

import pytest

from uidt.errors import ProtocolError
from uidt.host import protocol


async def _read(data: bytes, allowed: frozenset[str] = protocol.FROM_WORKER) -> object:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return await protocol.read_frame(reader, allowed)


async def test_a_frame_round_trips() -> None:
    message = {"type": "hello", "version": protocol.VERSION, "app": "a.b", "pid": 1}
    frame = protocol.encode(message)
    assert struct.unpack(">I", frame[:4])[0] == len(frame) - 4
    assert await _read(frame) == message


async def test_a_clean_end_of_stream_is_none() -> None:
    assert await _read(b"") is None


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x00\x00", "frame header"),
        (struct.pack(">I", protocol.MAX_FRAME + 1), "exceeds"),
        (struct.pack(">I", 10) + b"abc", "inside a frame"),
        (struct.pack(">I", 3) + b"\xff\xfe\xfd", "not JSON"),
        (struct.pack(">I", 2) + b"[]", "unexpected message"),
        (
            protocol.encode({"type": "start", "run_id": 1, "service": "a:B", "params": {}}),
            "unexpected",
        ),
        (protocol.encode({"type": "pong"}), "without seq"),
    ],
)
async def test_malformed_input_is_a_protocol_error(data: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        await _read(data)


def test_an_oversized_message_cannot_be_encoded() -> None:
    with pytest.raises(ProtocolError, match="exceeds"):
        protocol.encode({"type": "call", "blob": "x" * protocol.MAX_FRAME})


def test_protocol_error_is_a_value_error() -> None:
    assert issubclass(ProtocolError, ValueError)
