"""The test suite's event loop: :class:`TidyEventLoop`."""

from __future__ import annotations

import asyncio


class TidyEventLoop(asyncio.SelectorEventLoop):
    """The tests' event loop: at its close, a connection that was closed but still waits to
    send what its peer never read is reset, and its end run, before the loop goes.

    ``transport.close()`` with unsent bytes waits for the peer to read them (a server that
    stopped reading an upload, a proxy gone quiet): when the test's loop closes first, the
    transport is collected in some later test as "unclosed transport" (a ResourceWarning, an
    error here) although its owner did close it. A transport nobody closed is left as it is,
    so its warning still shows a real leak.
    """

    def close(self) -> None:
        if not self.is_running() and not self.is_closed():
            transports = getattr(self, "_transports", {})  # the selector loop's fd → transport
            closing = [t for t in list(transports.values()) if t.is_closing()]
            for transport in closing:
                transport.abort()
            if closing:
                self.run_until_complete(asyncio.sleep(0))  # their connection_lost runs
        super().close()
