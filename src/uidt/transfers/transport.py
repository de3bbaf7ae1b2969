"""The seam under downloads: open a ``GET``, read the head, pour the body into a sink.

A :class:`Transport` opens one request (:meth:`Transport.open`, an async context manager that
closes the connection on the way out) and gives a :class:`Response`: the status, the headers,
the length, and :meth:`Response.pour`, which moves the body into a
:class:`~uidt.transfers.sink.Sink` (a :class:`~uidt.transfers.bodysink.BodySink`, or one segment's
sink, :mod:`uidt.transfers.segmented`). Two implement it:

- :class:`~uidt.transfers.rawtransport.RawTransport`: uidt's own HTTP/1.1 reader
  (:mod:`uidt.transfers.rawhttp`), ``http://`` and ``https://``, straight to the server, or a
  plain ``http://`` one through an HTTP proxy (an absolute-URI request to the proxy, never a
  connection to the server); in a thread, a plain body goes socket → pipe → file with
  ``splice(2)``, a TLS body is decrypted into a reused buffer and written from it;
- :class:`~uidt.transfers.aiotransport.AiohttpTransport`: ``aiohttp``, for ``https://``
  through a proxy (``CONNECT``), bodies without a length (chunked), and ``https://`` on a
  caller's own session; the body comes in chunks on the event loop.

:class:`Transports` is the one place that chooses between them: the raw reader for an
``http://`` or ``https://`` URL it may take (:meth:`Transports.raw_fits`), following redirects
itself (one checked hop at a time, :mod:`uidt.transfers.redirects`, no request sent twice, each
hop through the proxy :meth:`~uidt.transfers.proxy.ProxySettings.proxy_for` names for it), and
taking the body when the answer is not informational and, for a ``200``/``206``, has a length
and no chunking; ``aiohttp`` for everything else (from the first hop the raw reader may not
take, or again for the last hop when its answer was not for the raw reader); ``aiohttp`` always
with ``raw_http=False``. Both check certificates the same way (:mod:`uidt.transfers.tls`). A
caller that hands in its own ``aiohttp`` session keeps ``https://`` on it: the session's
connector may carry TLS settings of its own (a context, client certificates) that uidt's
reader cannot see.

What the errors of either mean is decided in one place, :mod:`uidt.transfers.failures`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Protocol

from uidt.redact import redact
from uidt.transfers.failures import TooManyRedirectsError
from uidt.transfers.http import REDIRECT_STATUSES, ResponseHead, check_url
from uidt.transfers.proxy import Proxy, proxy_refused
from uidt.transfers.rawhttp import ProxyHop
from uidt.transfers.redirects import follow_redirect
from uidt.transfers.request import RequestOptions, merged

if TYPE_CHECKING:
    import aiohttp

    from uidt.transfers.aiotransport import AiohttpTransport
    from uidt.transfers.rawtransport import RawTransport
    from uidt.transfers.sink import Sink


class Response(ResponseHead, Protocol):
    """The answer to one request: its head (status, reason, headers, length), and its body."""

    async def pour(self, sink: Sink) -> None:
        """Move the rest of the body into ``sink`` (cancelling stops it cleanly)."""


class Transport(Protocol):
    """Opens ``GET`` requests for one download."""

    def open(
        self, url: str, headers: Mapping[str, str]
    ) -> contextlib.AbstractAsyncContextManager[Response]:
        """Send ``GET url`` with ``headers``; the response is closed when the block ends."""
        ...

    async def aclose(self) -> None:
        """Let go of what the transport holds (a session it created)."""


def takes_raw(response: Response) -> bool:
    """Whether uidt's own reader may take this answer (else ``aiohttp`` asks again)."""
    status = response.status
    if status < 200 or status in REDIRECT_STATUSES:
        return False
    if status not in (200, 206):
        return True  # an error status: its body is not read
    coding = (response.headers.get("Transfer-Encoding") or "identity").strip().lower()
    return coding == "identity" and response.content_length is not None


class Transports:
    """The transport of one download: uidt's own reader where it fits, ``aiohttp`` otherwise.

    Args:
        raw_http: Use uidt's own reader for ``http://`` and ``https://`` (``False``:
            ``aiohttp`` always).
        session: An ``aiohttp`` session to use (one is created on first need otherwise); given
            one, ``https://`` goes through it (its TLS settings), never uidt's own reader.
        read_timeout: Seconds of silence before an attempt fails.
        max_redirects: Redirects followed before giving up.
        allow_insecure_redirect: Follow ``https://`` → ``http://``.
        request: The user's header fields and TLS choices, sent by both readers.
    """

    def __init__(
        self,
        *,
        raw_http: bool,
        session: aiohttp.ClientSession | None,
        read_timeout: float,
        max_redirects: int,
        allow_insecure_redirect: bool,
        request: RequestOptions | None = None,
    ) -> None:
        from uidt.transfers.aiotransport import AiohttpTransport
        from uidt.transfers.rawtransport import RawTransport

        self.raw_http = raw_http
        self.raw_https = raw_http and session is None
        self.request = request or RequestOptions()
        self.raw: RawTransport = RawTransport(read_timeout=read_timeout, request=self.request)
        self.aiohttp: AiohttpTransport = AiohttpTransport(
            session=session,
            read_timeout=read_timeout,
            max_redirects=max_redirects,
            allow_insecure_redirect=allow_insecure_redirect,
            request=self.request,
        )

    def raw_fits(self, url: str) -> bool:
        """Whether the raw reader may try ``url``: ``http://`` (straight, or through an HTTP
        proxy, which it speaks: an absolute-URI request), or ``https://`` straight to the
        server. A proxied ``https://`` URL needs a ``CONNECT`` tunnel, which only ``aiohttp``
        makes, so it answers ``False`` (never a silent direct connection); so does
        ``https://`` with the caller's own session, whose TLS settings are its own."""
        scheme = check_url(url)
        if scheme == "https":
            return self.raw_https and self.request.proxy.proxy_for(url) is None
        return self.raw_http

    def _raw_proxy(self, url: str) -> tuple[Proxy | None, ProxyHop | None]:
        proxy = self.request.proxy.proxy_for(url)
        if proxy is None:
            return None, None
        return proxy, ProxyHop(proxy.host, proxy.port, proxy.authorization)

    @contextlib.asynccontextmanager
    async def open(self, url: str, headers: Mapping[str, str]) -> AsyncIterator[Response]:
        """Open ``GET url`` on the transport that fits (see the module docstring).

        Plain-HTTP redirects are followed here on the splice reader, each hop checked by
        :func:`~uidt.transfers.redirects.follow_redirect` as ``aiohttp``'s are; the first hop
        the splice reader may not take (``https://``) or whose answer it cannot read is asked
        by ``aiohttp``, which goes on with the redirects left.
        """
        current, hops = url, 0
        while self.raw_fits(current):
            # Secret fields go only to the original URL's origin (unless trusted).
            fields = merged(self.request.headers_for(current, original=url), headers)
            proxy, hop = self._raw_proxy(current)
            async with self.raw.open(current, fields, proxy=hop) as response:
                if proxy is not None and response.status == 407:
                    raise proxy_refused(redact(current), proxy.where, 407)
                if response.status in REDIRECT_STATUSES:
                    if hops == self.aiohttp.max_redirects:
                        raise TooManyRedirectsError(
                            f"more than {self.aiohttp.max_redirects} redirects"
                        )
                    current = follow_redirect(
                        current,
                        response.headers.get("Location"),
                        original=url,
                        allow_insecure=self.aiohttp.allow_insecure_redirect,
                        trusted=self.request.location_trusted,
                    )
                    hops += 1
                    continue
                if takes_raw(response):
                    yield response
                    return
            break
        async with self.aiohttp.open(
            current, headers, original=url, max_redirects=self.aiohttp.max_redirects - hops
        ) as response:
            yield response

    async def aclose(self) -> None:
        """Close the ``aiohttp`` session if this transport created it."""
        await self.aiohttp.aclose()
