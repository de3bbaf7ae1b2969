"""The daemon ↔ worker protocol (version 1): length-prefixed JSON frames over a Unix socket.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON: one object
with a ``"type"``. The worker speaks first with ``hello`` (protocol version, app, pid); a frame
larger than :data:`MAX_FRAME`, or one that is not a JSON object with a known type, is a
:class:`~uidt.errors.ProtocolError`: the daemon closes the connection and treats it as the app's
process dying. See ``docs/ipc.md`` for every message.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

from uidt.errors import ProtocolError

#: Protocol version, sent in ``hello``; the daemon refuses a worker speaking another one.
VERSION = 1
#: Largest frame body accepted in either direction (1 MiB).
MAX_FRAME = 1 << 20
_HEADER = struct.Struct(">I")

#: Messages the daemon sends to a worker.
TO_WORKER = frozenset({"start", "stop", "network_changed", "ping", "reply"})
#: Messages a worker sends to the daemon.
FROM_WORKER = frozenset(
    {"hello", "start_result", "stop_result", "network_changed_done", "call", "crashed", "pong"}
)
#: ``call`` methods (the JobService calls).
CALLS = frozenset(
    {"job_finished", "set_notification", "update_estimated_bytes", "update_transferred_bytes"}
)
#: Required keys (beyond ``type``) of each message, checked by :func:`decode`.
REQUIRED: dict[str, tuple[str, ...]] = {
    "hello": ("version", "app", "pid"),
    "start": ("run_id", "service", "params"),
    "stop": ("run_id", "stop_reason", "internal_reason"),
    "network_changed": ("run_id", "network"),
    "network_changed_done": ("run_id",),
    "ping": ("seq",),
    "pong": ("seq",),
    "reply": ("request_id",),
    "start_result": ("run_id", "wants_to_run"),
    "stop_result": ("run_id", "wants_reschedule"),
    "call": ("run_id", "method", "args"),
    "crashed": ("run_id", "traceback"),
}


def encode(message: dict[str, Any]) -> bytes:
    """One frame: the length header and the JSON body.

    Raises:
        ProtocolError: the body would be larger than :data:`MAX_FRAME`.
    """
    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds {MAX_FRAME}")
    return _HEADER.pack(len(body)) + body


def decode(body: bytes, allowed: frozenset[str]) -> dict[str, Any]:
    """Parse a frame body into a message of one of the ``allowed`` types.

    Raises:
        ProtocolError: not JSON, not an object, an unexpected type or a missing key.
    """
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"frame is not JSON: {exc}") from exc
    if not isinstance(message, dict) or message.get("type") not in allowed:
        raise ProtocolError(f"unexpected message: {str(message)[:200]}")
    missing = [k for k in REQUIRED.get(message["type"], ()) if k not in message]
    if missing:
        raise ProtocolError(f"{message['type']} message without {', '.join(missing)}")
    return message


async def read_frame(
    reader: asyncio.StreamReader, allowed: frozenset[str]
) -> dict[str, Any] | None:
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
    return decode(body, allowed)
