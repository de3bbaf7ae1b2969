"""``ScriptedRouteSocket``: a route socket whose messages and errors the test decides.

A ``bytes`` item comes from the kernel (port id 0); a ``(bytes, port id)`` item from a process.

It is readable (for ``loop.add_reader``) exactly while something is queued: a real socket pair
carries one byte per queued item, drained when the queue runs dry.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque


class ScriptedRouteSocket:
    """Hands out queued messages (bytes) or raises queued errors, then ``BlockingIOError``."""

    def __init__(self) -> None:
        self._mine, self._theirs = socket.socketpair()
        self._mine.setblocking(False)
        self._queue: deque[bytes | tuple[bytes, int] | OSError] = deque()
        self.recv_calls = 0
        self.closed = False
        #: Set whenever the queue has been read dry.
        self.drained = asyncio.Event()

    def send(self, *items: bytes | tuple[bytes, int] | OSError) -> None:
        """Queue messages or errors; the socket becomes readable."""
        self.drained.clear()
        self._queue.extend(items)
        self._theirs.send(b"x")

    def fail_forever(self, error: OSError) -> None:
        """Every ``recv`` from now on raises ``error`` (a socket that keeps failing)."""
        self._forever = error
        self._theirs.send(b"x")

    _forever: OSError | None = None

    def fileno(self) -> int:
        return self._mine.fileno()

    def recvfrom(self, bufsize: int, /) -> tuple[bytes, tuple[int, int]]:
        self.recv_calls += 1
        if self._forever is not None:
            raise self._forever
        if not self._queue:
            while True:
                try:
                    self._mine.recv(4096)
                except BlockingIOError:
                    break
            self.drained.set()
            raise BlockingIOError
        item = self._queue.popleft()
        if isinstance(item, OSError):
            raise item
        if isinstance(item, tuple):
            return item[0], (item[1], 0)
        return item, (0, 1)

    def close(self) -> None:
        self.closed = True
        self._mine.close()
        self._theirs.close()
