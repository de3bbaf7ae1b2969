"""The raw transport: ``http://`` and ``https://`` through :mod:`uidt.transfers.rawhttp`.

The request is sent and the head read in a worker thread; the body is copied socket → pipe →
file with ``splice(2)`` (plain HTTP), or ``recv_into`` a reused buffer and ``write`` (TLS), in
another, while the event loop reports progress every
:data:`PROGRESS_PERIOD_S` and applies the lowest-speed rule. Stopping the task aborts the copy
and waits until the thread is out of the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Mapping
from typing import Any

from uidt.transfers.http import finish
from uidt.transfers.rawbody import copy_body, read_exactly
from uidt.transfers.rawhttp import Opening, ProxyHop, RawResponse
from uidt.transfers.request import RequestOptions
from uidt.transfers.sink import PourPaused, Sink
from uidt.transfers.tls import client_context

#: How often the engine reports progress while a thread copies a plain-HTTP body.
PROGRESS_PERIOD_S = 0.1


class RawBody:
    """A :class:`~uidt.transfers.transport.Response` read by uidt's own reader."""

    def __init__(self, response: RawResponse) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def reason(self) -> str | None:
        return self._response.reason

    @property
    def headers(self) -> Any:
        return self._response.headers

    @property
    def content_length(self) -> int | None:
        return self._response.content_length

    async def pour(self, sink: Sink) -> None:
        """Copy the body in a thread (``splice``) while the loop reports progress."""
        response = self._response
        length = response.content_length
        assert length is not None  # only answers with a length come here
        length = sink.to_copy(length)
        repeated = sink.overlap_size
        copy = functools.partial(
            copy_body, chunk_bytes=sink.copy_chunk_bytes, read_bytes=sink.read_bytes
        )

        sink.throttle.resume()

        def pump_body() -> None:  # in a thread
            if repeated:
                sink.check_overlap(read_exactly(response, repeated))
            copy(response, sink.fileno(), length, sink.appended)

        pump = asyncio.get_running_loop().run_in_executor(None, pump_body)
        try:
            while not pump.done():
                await asyncio.wait({pump}, timeout=PROGRESS_PERIOD_S)
                sink.tick()
            pump.result()
        except PourPaused:
            raise  # the thread stopped between two writes: the response goes on later
        except BaseException:
            # Stopped (or failed): the thread must be out of the file before it is closed.
            response.abort()
            sink.throttle.interrupt()  # a thread pausing for the rate limit wakes up now
            await finish(pump)
            raise


class RawTransport:
    """Opens ``http://`` and ``https://`` requests with uidt's own reader.

    Args:
        read_timeout: Seconds of silence from the server before the attempt fails.
        request: The TLS choices (``--cacert``, ``--insecure``) for ``https://``.
    """

    def __init__(self, *, read_timeout: float, request: RequestOptions | None = None) -> None:
        self.read_timeout = read_timeout
        self.request = request or RequestOptions()

    @contextlib.asynccontextmanager
    async def open(
        self, url: str, headers: Mapping[str, str], *, proxy: ProxyHop | None = None
    ) -> AsyncIterator[RawBody]:
        """Send ``GET url`` (a plain ``http://`` one through ``proxy`` if given); the
        connection is closed when the block ends."""
        tls = client_context(self.request) if url.lower().startswith("https:") else None
        opening = Opening(url, headers, read_timeout=self.read_timeout, tls=tls, proxy=proxy)
        try:
            response = await asyncio.to_thread(opening.open)
        except asyncio.CancelledError:
            opening.abandon()  # the thread may still be connecting
            raise
        try:
            yield RawBody(response)
        finally:
            response.close()

    async def aclose(self) -> None:
        """Nothing to let go of: every connection closes with its request."""
