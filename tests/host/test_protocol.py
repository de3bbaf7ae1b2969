"""Frames: encode/decode round trip, and every malformed input is a ProtocolError."""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

import msgspec
import pytest

from uidt.errors import ProtocolError
from uidt.host import messages as msg
from uidt.host import protocol


async def _read(data: bytes, decoder: msgspec.json.Decoder[Any] = protocol.FROM_WORKER) -> object:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return await protocol.read_frame(reader, decoder)


def _raw(message: dict[str, Any]) -> bytes:
    """A hand-made frame (what a buggy or hostile peer could send)."""
    body = json.dumps(message).encode()
    return struct.pack(">I", len(body)) + body


async def test_a_frame_round_trips() -> None:
    message = msg.Hello(version=protocol.VERSION, app="a.b", pid=1)
    frame = protocol.encode(message)
    assert struct.unpack(">I", frame[:4])[0] == len(frame) - 4
    assert json.loads(frame[4:]) == {
        "type": "hello",
        "version": protocol.VERSION,
        "app": "a.b",
        "pid": 1,
    }
    assert await _read(frame) == message


@pytest.mark.parametrize(
    ("message", "decoder"),
    [
        (msg.Start(1, "a:B", {"job_id": 3}), protocol.TO_WORKER),
        (msg.Stop(1, 2, 3), protocol.TO_WORKER),
        (msg.NetworkChanged(1, None), protocol.TO_WORKER),
        (msg.Ping(4), protocol.TO_WORKER),
        (msg.Reply(4, "no"), protocol.TO_WORKER),
        (msg.StartResult(1, True), protocol.FROM_WORKER),
        (msg.StopResult(1, False), protocol.FROM_WORKER),
        (msg.NetworkChangedDone(1), protocol.FROM_WORKER),
        (msg.JobFinished(1, False, "HTTP 404"), protocol.FROM_WORKER),
        (msg.SetNotification(1, 7, {"channel_id": "c"}, 1, 9), protocol.FROM_WORKER),
        (msg.UpdateEstimatedBytes(1, 10, -1), protocol.FROM_WORKER),
        (msg.UpdateTransferredBytes(1, 5, 0), protocol.FROM_WORKER),
        (msg.Crashed(1, "Traceback", "on_start_job", "ValueError", "bad"), protocol.FROM_WORKER),
        (msg.Pong(4), protocol.FROM_WORKER),
    ],
)
async def test_every_message_round_trips(
    message: msg.Message, decoder: msgspec.json.Decoder[Any]
) -> None:
    assert await _read(protocol.encode(message), decoder) == message


async def test_extra_fields_are_ignored() -> None:
    frame = _raw({"type": "pong", "seq": 3, "added_in_a_later_version": True})
    assert await _read(frame) == msg.Pong(3)


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
        (protocol.encode(msg.Start(1, "a:B", {})), "unexpected message"),  # wrong direction
        (_raw({"type": "pong"}), "seq"),
        (_raw({"type": "start_result", "run_id": 1, "wants_to_run": "false"}), "bool"),
        (_raw({"type": "start_result", "run_id": "1", "wants_to_run": True}), "int"),
        (
            _raw({"type": "job_finished", "run_id": 1, "wants_reschedule": False, "failure": 7}),
            "str",
        ),
        (_raw({"type": "call", "method": "job_finished", "run_id": 1, "args": {}}), "call"),
    ],
)
async def test_malformed_input_is_a_protocol_error(data: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        await _read(data)


def test_an_oversized_message_cannot_be_encoded() -> None:
    with pytest.raises(ProtocolError, match="exceeds"):
        protocol.encode(msg.Crashed(1, "x" * protocol.MAX_FRAME))


def test_a_message_json_cannot_carry_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="cannot be encoded"):
        protocol.encode(msg.Start(1, "a:B", {"extras": object()}))


def test_protocol_error_is_a_value_error() -> None:
    assert issubclass(ProtocolError, ValueError)


def test_every_app_call_has_its_message() -> None:
    assert set(msg.CALLS) == {
        "job_finished",
        "set_notification",
        "update_estimated_bytes",
        "update_transferred_bytes",
    }
