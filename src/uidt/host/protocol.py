"""The daemon ↔ worker framing: length-prefixed JSON frames over a Unix socket.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON: one object
with a ``"type"``, decoded into one of the typed messages of :mod:`uidt.host.messages`. The worker
speaks first with ``hello`` (protocol version, app, pid); a frame larger than :data:`MAX_FRAME`,
or one that is not a JSON object of a known type with every field of the right type, is a
:class:`~uidt.errors.ProtocolError`: the daemon closes the connection and treats it as the app's
process dying. See ``docs/ipc.md`` for every message.
"""

from __future__ import annotations

import asyncio
import struct
from typing import TypeVar

import msgspec

from uidt.errors import ProtocolError
from uidt.host.messages import VERSION, FromWorker, Message, ToWorker

__all__ = ["FROM_WORKER", "MAX_FRAME", "TO_WORKER", "VERSION", "decode", "encode", "read_frame"]

#: Largest frame body accepted in either direction (1 MiB).
MAX_FRAME = 1 << 20
_HEADER = struct.Struct(">I")
_ENCODER = msgspec.json.Encoder()

M = TypeVar("M", bound=Message)

#: Decodes what the daemon sends to a worker.
TO_WORKER: msgspec.json.Decoder[ToWorker] = msgspec.json.Decoder(ToWorker)
#: Decodes what a worker sends to the daemon.
FROM_WORKER: msgspec.json.Decoder[FromWorker] = msgspec.json.Decoder(FromWorker)


def encode(message: Message) -> bytes:
    """One frame: the length header and the JSON body.

    Raises:
        ProtocolError: a field holds something JSON cannot carry, or the body would be larger
            than :data:`MAX_FRAME`.
    """
    try:
        body = _ENCODER.encode(message)
    except (msgspec.EncodeError, TypeError) as exc:
        raise ProtocolError(f"{type(message).__name__} cannot be encoded: {exc}") from exc
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds {MAX_FRAME}")
    return _HEADER.pack(len(body)) + body


def decode(body: bytes, decoder: msgspec.json.Decoder[M]) -> M:
    """Parse a frame body into one of the decoder's message types, checking every field.

    Raises:
        ProtocolError: not JSON, not an object, an unexpected type, a missing field or a field
            of the wrong type.
    """
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ProtocolError(f"unexpected message: {exc}: {body[:200]!r}") from exc
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"frame is not JSON: {exc}") from exc


async def read_frame(reader: asyncio.StreamReader, decoder: msgspec.json.Decoder[M]) -> M | None:
    """The next message, or ``None`` at a clean end of stream.

    Raises:
        ProtocolError: oversized, truncated or malformed frame.
    """
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ProtocolError("connection closed inside a frame header") from exc
        return None
    (length,) = _HEADER.unpack(header)
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes exceeds {MAX_FRAME}")
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError("connection closed inside a frame") from exc
    return decode(body, decoder)
