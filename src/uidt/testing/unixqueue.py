"""A Unix listening socket whose kernel queue is full: what a client meets at a daemon that falls
behind on accepting (a burst of commands, a slowloris)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def full_listen_queue(path: Path) -> Iterator[tuple[socket.socket, list[socket.socket]]]:
    """Listen at ``path`` and fill the queue with connections nobody has accepted yet.

    Yields the listening socket and the queued client sockets (the last one found the queue
    full and is not queued). Both are closed on exit.
    """
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    queued: list[socket.socket] = []
    try:
        while True:
            filler = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            filler.setblocking(False)
            queued.append(filler)
            try:
                filler.connect(str(path))
            except BlockingIOError:
                break  # the queue is full
        yield server, queued
    finally:
        for filler in queued:
            filler.close()
        server.close()
