"""The test server on its own thread and event loop, for synchronous callers
(:class:`ThreadedTransferTestServer`; ``uidt.testing.httpserver`` re-exports it).

Every configuration call is forwarded to the server's loop and waited for, so a test may change
faults between two blocking calls of the code under test.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from uidt.testing.httpfaults import Faults

if TYPE_CHECKING:
    pass

__all__ = ["ThreadedTransferTestServer"]


class ThreadedTransferTestServer:
    """:class:`TransferTestServer` on its own thread and event loop, for synchronous callers.

    Use as a ``with`` block. Configuration methods are forwarded to the server thread.
    Given an ``ssl.SSLContext`` it speaks HTTPS, as :class:`TransferTestServer` does.
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        from uidt.testing.httpserver import TransferTestServer  # that module re-exports this one

        self.server = TransferTestServer(ssl_context=ssl_context)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> ThreadedTransferTestServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _call(self, func: Callable[[], object]) -> None:
        done = threading.Event()

        def run() -> None:
            try:
                func()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(10)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self.server.port

    def url(self, path: str) -> str:
        """The full URL of ``path``."""
        return self.server.url(path)

    def add_file(self, path: str, data: bytes) -> None:
        """See :meth:`TransferTestServer.add_file`."""
        self._call(lambda: self.server.add_file(path, data))

    def add_path(self, path: str, source: str | os.PathLike[str]) -> None:
        """See :meth:`TransferTestServer.add_path`."""
        self._call(lambda: self.server.add_path(path, source))

    def set_faults(self, path: str, faults: Faults | None = None) -> None:
        """See :meth:`TransferTestServer.set_faults`."""
        self._call(lambda: self.server.set_faults(path, faults))

    def throttle(self, path: str, bytes_per_second: int | None) -> None:
        """See :meth:`TransferTestServer.throttle`."""
        self._call(lambda: self.server.throttle(path, bytes_per_second))

    def pause(self, path: str) -> None:
        """See :meth:`TransferTestServer.pause`."""
        self._call(lambda: self.server.pause(path))

    def unpause(self, path: str) -> None:
        """See :meth:`TransferTestServer.unpause`."""
        self._call(lambda: self.server.unpause(path))

    def bytes_sent(self, path: str) -> int:
        """See :meth:`TransferTestServer.bytes_sent`."""
        return self.server.bytes_sent(path)

    def wait_bytes_sent(self, path: str, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` body bytes of ``path`` have been sent."""
        future = asyncio.run_coroutine_threadsafe(
            self.server.wait_bytes_sent(path, count), self._loop
        )
        try:
            future.result(timeout)
        finally:
            future.cancel()
