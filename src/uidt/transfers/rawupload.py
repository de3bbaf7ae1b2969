"""An upload body sent with ``sendfile(2)``: the file's pages go to the socket in the kernel.

``aiohttp`` sends a body as Python ``bytes``: each block is read from the file into a new
object, handed to the event loop and copied into the socket, all with the loop's work per
block. For a plain ``http://`` request straight to the server there is nothing to encrypt or
wrap, so :class:`FileRequest` does what ``curl -T`` and nginx do: uidt's own HTTP/1.1 head
(:func:`~uidt.transfers.rawhttp.send_head`) and then ``os.sendfile`` from the open source
(:class:`~uidt.transfers.uploadsource.SourceFile`) to the socket, in a thread, with the GIL
released while the kernel copies.

The body goes in bounded steps (:data:`SENDFILE_CHUNK_BYTES`, or a tenth of a second's worth
under a rate limit); between two steps the thread checks the file
(:meth:`~uidt.transfers.uploadsource.SourceFile.check`: truncated, grown, written to, replaced)
and pauses for the rate limit (:meth:`~uidt.transfers.throttle.Throttle.pause_in_thread`),
so every rule of the ``aiohttp`` path holds. :func:`send_file` runs it from the event loop,
reporting the bytes sent every :data:`PROGRESS_PERIOD_S`, and stops it on cancellation.

``https://`` (the kernel cannot encrypt without kernel TLS) and requests through a proxy keep
the ``aiohttp`` path: :func:`sendfile_fits`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import threading
from collections.abc import Callable, Mapping

from uidt.transfers.http import check_url, finish
from uidt.transfers.rawhttp import (
    BodyEndedError,
    Connection,
    RawResponse,
    read_head,
    send_head,
)
from uidt.transfers.request import RequestOptions
from uidt.transfers.throttle import Throttle
from uidt.transfers.uploadsource import SourceChangedError, SourceFile

#: The most bytes one ``sendfile`` step moves between two checks of the file.
SENDFILE_CHUNK_BYTES = 2 * 1024 * 1024
#: How often :func:`send_file` reports the bytes sent.
PROGRESS_PERIOD_S = 0.1


def sendfile_fits(url: str, request: RequestOptions) -> bool:
    """Whether a body for ``url`` may go with ``sendfile``: plain ``http://`` straight to the
    server (no proxy names it), on a system that has ``os.sendfile``."""
    return (
        hasattr(os, "sendfile")
        and check_url(url) == "http"
        and request.proxy.proxy_for(url) is None
    )


class FileRequest:
    """One request whose body is ``length`` bytes of ``source`` from ``offset`` (blocking
    :meth:`run` in a thread; :meth:`abort` from another).

    Args:
        method: ``PUT``, ``POST`` or ``PATCH``.
        url: A plain ``http://`` URL (:func:`sendfile_fits`).
        fields: The header fields (``Content-Length`` among them).
        source: The open source file.
        offset: Where the body starts in the file.
        length: Bytes in the body.
        read_timeout: Seconds the server may take no bytes, or give no answer.
        throttle: The rate limit (it counts the bytes sent either way).
        on_sending: Called before each step with the file offset it ends at.

    Attributes:
        sent: Body bytes handed to the kernel so far (read from the event loop).
    """

    def __init__(
        self,
        method: str,
        url: str,
        fields: Mapping[str, str],
        source: SourceFile,
        offset: int,
        length: int,
        *,
        read_timeout: float,
        throttle: Throttle,
        on_sending: Callable[[int], None] | None = None,
    ) -> None:
        self.method, self.url, self.fields = method, url, fields
        self.source, self.offset, self.length = source, offset, length
        self.read_timeout = read_timeout
        self.throttle = throttle
        self.on_sending = on_sending
        self.sent = 0
        self._lock = threading.Lock()
        self._sock: Connection | None = None
        self._aborted = False

    def run(self) -> RawResponse:
        """Send the request and its body, then read the answer's head (blocking).

        A server that answers before the whole body went out (a refusal) and closes the
        connection is heard: its answer is returned if it arrived.

        Raises:
            SourceChangedError: The file changed while it was sent.
            ConnectFailedError: The server cannot be reached.
            TimeoutError: The server took no bytes, or gave no answer, for the read timeout.
            ConnectionError: The connection broke (or :meth:`abort` was called).
        """
        sock = send_head(self.method, self.url, self.fields, read_timeout=self.read_timeout)
        with self._lock:
            self._sock = sock
            aborted = self._aborted
        try:
            if aborted:
                raise BodyEndedError("the transfer was stopped")
            try:
                self._send_body(sock.fileno())
            except (BrokenPipeError, ConnectionResetError):
                early = _answer_if_any(sock)
                if early is None or self._aborted:
                    raise
                return early
            return read_head(sock)
        except BaseException:
            sock.close()
            raise

    def _send_body(self, out: int) -> None:
        position, end = self.offset, self.offset + self.length
        source, throttle = self.source, self.throttle
        while position < end:
            if self._aborted:
                raise BodyEndedError("the transfer was stopped")
            step = min(end - position, throttle.chunk_bytes(SENDFILE_CHUNK_BYTES))
            if self.on_sending is not None:
                self.on_sending(position + step)
            stop = position + step
            while position < stop:
                try:
                    moved = os.sendfile(out, source.fd, position, stop - position)
                except BlockingIOError as exc:  # SO_SNDTIMEO ran out
                    raise TimeoutError("the server took no bytes of the upload") from exc
                if moved == 0:  # the file ends before the length it had
                    source.check()
                    raise SourceChangedError(f"{source.path} became shorter during the upload")
                position += moved
                self.sent += moved
            source.check()
            throttle.pause_in_thread(step)

    def abort(self) -> None:
        """Make :meth:`run` in another thread return soon, resetting the connection."""
        with self._lock:
            self._aborted = True
            sock = self._sock
        if sock is None:
            return
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)


def _answer_if_any(sock: Connection) -> RawResponse | None:
    """The head of an answer the server sent before it closed, if one is there."""
    try:
        return read_head(sock)
    except (OSError, ConnectionError):
        return None


async def send_file(request: FileRequest, on_tick: Callable[[int], None]) -> RawResponse:
    """Run ``request`` in a thread; ``on_tick(sent)`` on the loop every
    :data:`PROGRESS_PERIOD_S` and at the end. The caller closes the answer.

    Cancelling aborts the request and waits until the thread is out of the file.
    """
    request.throttle.resume()
    pump = asyncio.get_running_loop().run_in_executor(None, request.run)
    try:
        while not pump.done():
            await asyncio.wait({pump}, timeout=PROGRESS_PERIOD_S)
            on_tick(request.sent)
        return pump.result()
    except BaseException:
        request.abort()
        request.throttle.interrupt()  # a thread pausing for the rate limit wakes up now
        await finish(pump)
        raise
