"""The requests of an upload that carry the file: a plain ``PUT``/``POST``, or a tus ``PATCH``.

:class:`BodyRequests` sends a range of the source as a request's body on one of two paths:

- ``sendfile(2)`` on uidt's own HTTP/1.1 connection (:mod:`uidt.transfers.rawupload`) for a
  plain ``http://`` URL straight to the server;
- ``aiohttp`` for ``https://``, for a URL a proxy serves, and when the caller asks for it
  (``raw_http=False``): the file read in blocks on the event loop.

Either way the bytes are paced by the rate limit, counted as sent (``on_sent``), and the file
is checked after every step (:class:`~uidt.transfers.uploadsource.SourceFile`). A body request
follows no redirect: the bytes went to the URL that answered, and re-sending them elsewhere is
not the upload the user asked for, so a ``3xx`` fails the upload with that reason
(:func:`~uidt.transfers.tus.check_status`) on both paths.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping

from uidt.transfers.http import ResponseHead
from uidt.transfers.rawupload import FileRequest, send_file, sendfile_fits
from uidt.transfers.throttle import Throttle
from uidt.transfers.tus import OffsetWatch, TusClient
from uidt.transfers.uploadsource import SourceChangedError, SourceFile

#: Bytes per block on the ``aiohttp`` path (fewer under a rate limit).
READ_BYTES = 1024 * 1024

OnSent = Callable[[int, int], None]
"""Called on the loop with the bytes newly sent and the file offset reached."""


class BodyRequests:
    """Sends the body requests of one upload.

    Args:
        client: The upload's requests (the user's fields, TLS, proxy).
        source: The open source file.
        throttle: The rate limit.
        raw_http: Use ``sendfile`` where the URL allows it (``False``: ``aiohttp`` always).
        read_timeout: Seconds the server may take no bytes, or give no answer (``sendfile``
            path; the ``aiohttp`` session has its own).
        on_sent: See :data:`OnSent`.
    """

    def __init__(
        self,
        client: TusClient,
        source: SourceFile,
        throttle: Throttle,
        *,
        raw_http: bool,
        read_timeout: float,
        on_sent: OnSent,
    ) -> None:
        self.client = client
        self.source = source
        self.throttle = throttle
        self.raw_http = raw_http
        self.read_timeout = read_timeout
        self.on_sent = on_sent

    def uses_sendfile(self, url: str) -> bool:
        """Whether a body for ``url`` goes with ``sendfile``."""
        return self.raw_http and sendfile_fits(url, self.client.request_options)

    @contextlib.asynccontextmanager
    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        offset: int,
        length: int,
        watch: OffsetWatch | None = None,
    ) -> AsyncIterator[ResponseHead]:
        """Send ``length`` bytes of the file from ``offset`` as the body; the answer.

        ``watch`` (tus) hears of each step before it goes out. uidt adds only ``headers`` (and
        the user's fields) to the request: no ``Content-Type`` of its own, so a presigned URL's
        signature holds.
        """
        if self.uses_sendfile(url):
            async with self._sendfile(method, url, headers, offset, length, watch) as answer:
                yield answer
            return
        blocks = self._blocks(offset, length, watch)
        request = self.client.send(
            method,
            url,
            headers,
            blocks,
            skip_auto_headers=("Content-Type",),
            allow_redirects=False,
        )
        try:
            async with request as answer:
                yield answer
        except Exception as exc:
            changed = _source_change(exc)
            if changed is None:
                raise
            raise changed from None  # aiohttp wraps what the body raised ("cannot write")
        self.source.check()

    @contextlib.asynccontextmanager
    async def _sendfile(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        offset: int,
        length: int,
        watch: OffsetWatch | None,
    ) -> AsyncIterator[ResponseHead]:
        counted = 0

        def tick(sent: int) -> None:
            nonlocal counted
            if sent > counted:
                self.on_sent(sent - counted, offset + sent)
                counted = sent

        request = FileRequest(
            method,
            url,
            self.client.fields_for(url, headers),
            self.source,
            offset,
            length,
            read_timeout=self.read_timeout,
            throttle=self.throttle,
            on_sending=None if watch is None else watch.sending,
        )
        answer = await send_file(request, tick)
        try:
            self.source.check()
            yield answer
        finally:
            answer.close()

    async def _blocks(
        self, offset: int, length: int, watch: OffsetWatch | None
    ) -> AsyncIterator[bytes]:
        """The body for ``aiohttp``: the file in blocks, paced, checked after each."""
        position, end = offset, offset + length
        throttle, source = self.throttle, self.source
        while position < end:
            block = source.read(position, min(end - position, throttle.chunk_bytes(READ_BYTES)))
            source.check()
            if not block:
                raise SourceChangedError(f"{source.path} became shorter during the upload")
            await throttle.pause(len(block))
            if watch is not None:
                watch.sending(position + len(block))
            yield block
            position += len(block)
            self.on_sent(len(block), position)


def _source_change(exc: BaseException) -> SourceChangedError | None:
    """The :class:`SourceChangedError` behind ``exc`` (its causes followed), if any."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None or isinstance(seen, SourceChangedError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
