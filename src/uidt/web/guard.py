"""The Task Manager's connections: a header timeout and a cap, on top of uvicorn's h11 protocol.

The Task Manager listens on loopback TCP, which every local user can reach, so it gets the same
defences as the control socket (:mod:`uidt.connlimit`): a connection must complete a
request head within ``header_timeout`` seconds of arriving (or of its previous answer), and at
most ``max_connections`` are held, the oldest waiting one giving way to a newcomer. uvicorn's
own keep-alive timeout closes idle connections; it has no header timeout, and its concurrency
limit answers 503 only once a request has arrived, so half-open connections held sockets.
A long answer in progress (the page's event stream) is busy and never timed out here.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol

from uidt.connlimit import ConnectionSlots, Slot


def _plain(status: str, text: str) -> bytes:
    """A complete ``Connection: close`` answer with a one-line text body."""
    body = f"{text}\n".encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


#: How long a refused connection may take to send the request it is refused.
REFUSAL_GRACE_S = 1.0
_BUSY = _plain("503 Service Unavailable", "too many connections")
_LATE = _plain("408 Request Timeout", "request not received in time")
_CUT = _plain("400 Bad Request", "the request head ended early")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout and a share of a connection cap."""

    slots: ClassVar[ConnectionSlots]
    header_timeout: ClassVar[float]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._slot: Slot | None = None
        self._refused = False
        self._refusal_counted = False
        self._header_timer: asyncio.TimerHandle | None = None
        self._armed_cycle: object = None
        super().__init__(*args, **kwargs)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._slot = self.slots.admit(self.loop.time(), transport.close)
        if self._slot is None:
            self._refuse(transport)
            return
        self._arm()

    def _refuse(self, transport: asyncio.Transport) -> None:
        """503 at once, then drop what the client sends until it closes (or for 1 s).

        Closing with unread data would reset the connection and the client could lose the
        503. While as many refusals are pending as connections are allowed, close at once.
        """
        self._refused = True
        if self.slots.refusing >= self.slots.limit:
            transport.close()
            return
        self.slots.refusing += 1
        self._refusal_counted = True
        transport.write(_BUSY)
        if transport.can_write_eof():
            transport.write_eof()
        self._header_timer = self.loop.call_later(REFUSAL_GRACE_S, transport.close)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()
            return
        if self._head_pending():  # the client ended in the middle of a request head
            self.transport.write(_CUT)
            self.transport.close()
            return
        super().eof_received()

    def _head_pending(self) -> bool:
        """Part of a request head has arrived, and no request has started since arming."""
        return self.cycle is self._armed_cycle and bool(self.conn.trailing_data[0])

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._slot is not None:
            self.slots.release(self._slot)
        elif self._refusal_counted:
            self._refusal_counted = False
            self.slots.refusing -= 1
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self._slot is not None:
            self._slot.busy = self.cycle is not None and not self.cycle.response_complete

    def on_response_complete(self) -> None:
        if self._slot is not None:
            self._slot.busy = False
            self._arm()
        super().on_response_complete()  # a pipelined request makes it busy again

    def _arm(self) -> None:
        self._disarm()
        self._armed_cycle = self.cycle
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_late(self) -> None:
        """No request head arrived in time since the connection opened or was last answered."""
        self._header_timer = None
        if self.cycle is self._armed_cycle and not self.transport.is_closing():
            if self._head_pending():
                self.transport.write(_LATE)
            self.transport.close()


def guarded_protocol(max_connections: int, header_timeout: float) -> type[GuardedH11Protocol]:
    """A protocol class for one server: its own cap of ``max_connections``."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"slots": ConnectionSlots(max_connections), "header_timeout": header_timeout},
    )
