"""One request and its answer on a control-socket connection, framed by h11.

A head that passed the strict gate (:mod:`uidt.daemon.httpwire`) is handed to a fresh
``h11.Connection``, which reads the body (``Content-Length`` or chunked, with chunk sizes and
chunk ends checked), answers ``Expect: 100-continue``, frames the answer and decides whether the
connection may carry another request (HTTP/1.1 without ``Connection: close``; h11 ends HTTP/1.0
connections after one answer). Bytes that arrived after the end of the request go back to the
:class:`~uidt.daemon.httpwire.Inbox` for the gate to read as the next head. Every failure is an
:class:`~uidt.daemon.httpwire.HTTPError`, answered by :meth:`Exchange.answer` with the connection
closed afterwards. A client has as long to read an answer as to send a request; one that does
not read it loses the connection (so that it does not hold one of the server's slots forever).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import h11

from uidt.daemon.httpwire import Head, HTTPError, Inbox

#: Longest chunk-size line, or trailer block, h11 may hold while waiting for its end (the head
#: never counts here: the gate hands it to h11 whole).
MAX_BODY_FRAMING = 8 * 1024
#: A body larger than the limit is still read (up to this much) and dropped, so the client sees
#: the 413 answer instead of a broken pipe.
MAX_DISCARD = 16 * 1024 * 1024
REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    411: "Length Required",
    413: "Request Entity Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Response:
    """A complete answer."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: Any, status: int = 200) -> Response:
    """``data`` as a JSON answer (non-JSON values as their ``str``)."""
    return Response(status, json.dumps(data, default=str).encode())


def protocol_error(status: int, message: str) -> Response:
    """The control API's body for a protocol-level error."""
    return json_response({"error": {"type": "protocol", "message": message}}, status)


class Exchange:
    """One request (read with :meth:`read_body` after its head) and one answer."""

    def __init__(self, writer: asyncio.StreamWriter, max_body: int, send_timeout: float) -> None:
        self._writer = writer
        self._max_body = max_body
        self._send_timeout = send_timeout
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_BODY_FRAMING)
        self._head_only = False

    async def read_body(self, inbox: Inbox, head: Head) -> bytes:
        """The body ``head`` announces (``b""`` for none), read from ``inbox``.

        Raises:
            HTTPError: 413 over the body limit; 400 malformed or ended early.
        """
        self._h11.receive_data(head.raw)
        request = self._next()
        if not isinstance(request, h11.Request):  # the gate passed it: h11 must take it
            raise HTTPError(400, "malformed request head")
        self._head_only = request.method == b"HEAD"
        length = int(head.headers.get("content-length", "0"))
        if length > self._max_body:
            if not self._h11.they_are_waiting_for_100_continue and length <= MAX_DISCARD:
                await self._events(inbox, keep=False)  # the client then gets to read the 413
            raise HTTPError(413, f"request body too large ({length} > {self._max_body} bytes)")
        if self._h11.they_are_waiting_for_100_continue:
            await self._send(
                h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
            )
        return await self._events(inbox, keep=True)

    async def answer(self, response: Response, *, keep_alive: bool = True) -> bool:
        """Send ``response``; ``True`` if the connection may carry another request."""
        headers = [
            ("Content-Type", f"{response.content_type}; charset=utf-8"),
            ("Content-Length", str(len(response.body))),
            ("Connection", "keep-alive" if keep_alive else "close"),
            *response.headers.items(),
        ]
        reason = REASONS.get(response.status, "Unknown").encode()
        await self._send(
            h11.Response(status_code=response.status, headers=headers, reason=reason),
            *(() if self._head_only or not response.body else (h11.Data(data=response.body),)),
            h11.EndOfMessage(),
        )
        return self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE

    async def fail(self, error: HTTPError) -> None:
        """Answer ``error`` and end the conversation (the connection is closed after it)."""
        await self.answer(protocol_error(error.status, error.message), keep_alive=False)

    async def _events(self, inbox: Inbox, *, keep: bool) -> bytes:
        """The body's bytes until the request ends (dropped unless ``keep``)."""
        body = bytearray()
        while True:
            event = self._next()
            if event is h11.NEED_DATA:
                self._h11.receive_data(await inbox.some())  # b"": the client ended its side
            elif isinstance(event, h11.Data):
                if keep:
                    body += event.data
                    if len(body) > self._max_body:
                        raise HTTPError(413, f"request body too large (> {self._max_body} bytes)")
            elif isinstance(event, h11.EndOfMessage):
                inbox.give_back(self._h11.trailing_data[0])  # a pipelined next request
                return bytes(body)
            else:
                raise HTTPError(400, "the request ended early")

    def _next(self) -> Any:
        try:
            return self._h11.next_event()
        except h11.RemoteProtocolError as exc:
            raise HTTPError(400, f"malformed request: {str(exc)[:200]}") from None

    async def _send(self, *events: Any) -> None:
        """Write ``events``; a client that does not read them in time loses its connection."""
        self._writer.write(b"".join(self._h11.send(event) or b"" for event in events))
        try:
            async with asyncio.timeout(self._send_timeout):
                await self._writer.drain()
        except TimeoutError:
            self._writer.transport.abort()  # close() would wait for the unread answer to leave
            raise ConnectionResetError("the client did not read its answer in time") from None
