"""The ``aiohttp`` transport: ``https://``, proxies, redirects and bodies without a length.

Each hop goes through the proxy :meth:`~uidt.transfers.proxy.ProxySettings.proxy_for` names for
it (``CONNECT`` for ``https://``, an absolute-URI request for ``http://``), or straight to the
server when none.

Redirects are followed here, one checked hop at a time (:mod:`uidt.transfers.redirects`),
with ``aiohttp`` told not to follow any itself. The body comes in chunks on the event loop and
goes to :meth:`~uidt.transfers.bodysink.BodySink.chunk`. ``aiohttp`` is imported on the first
request, so a plain-HTTP download never pays for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from uidt.redact import redact
from uidt.transfers.failures import TooManyRedirectsError
from uidt.transfers.http import REDIRECT_STATUSES, new_session
from uidt.transfers.proxy import Proxy, aiohttp_arguments, proxy_refused
from uidt.transfers.redirects import follow_redirect
from uidt.transfers.request import RequestOptions, has_field, merged, without_userinfo
from uidt.transfers.sink import Sink
from uidt.transfers.tls import ssl_for

if TYPE_CHECKING:
    import aiohttp


#: The most bytes one read takes while a rate limit is set.
_LIMITED_READ_BYTES = 1024 * 1024


class AiohttpBody:
    """A :class:`~uidt.transfers.transport.Response` read by ``aiohttp``."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
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
        """Hand the body to ``sink`` chunk by chunk as it arrives (while a rate limit is set,
        in steps of about a tenth of a second's worth)."""
        content = self._response.content
        throttle = sink.throttle
        while True:
            if throttle.rate is None:
                chunk = await content.readany()
            else:
                chunk = await content.read(throttle.chunk_bytes(_LIMITED_READ_BYTES))
            if not chunk:
                return
            await sink.chunk(chunk)


class AiohttpTransport:
    """Opens requests with ``aiohttp``, following redirects.

    Args:
        session: The session to use (``None``: one is created on first need, and closed by
            :meth:`aclose`).
        read_timeout: Seconds of silence before an attempt fails (a session created here).
        max_redirects: Redirects followed before giving up.
        allow_insecure_redirect: Follow ``https://`` → ``http://``.
        request: The user's header fields (secret ones only to the URL's origin, unless
            trusted) and TLS choices.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None,
        read_timeout: float,
        max_redirects: int,
        allow_insecure_redirect: bool,
        request: RequestOptions | None = None,
    ) -> None:
        self.session = session
        self.own_session = False
        self.read_timeout = read_timeout
        self.max_redirects = max_redirects
        self.allow_insecure_redirect = allow_insecure_redirect
        self.request = request or RequestOptions()

    @contextlib.asynccontextmanager
    async def open(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        original: str | None = None,
        max_redirects: int | None = None,
    ) -> AsyncIterator[AiohttpBody]:
        """Send ``GET url``, following redirects; the response is released when the block ends.

        Args:
            url: The URL to ask.
            headers: uidt's own fields (``Range``...), over the user's.
            original: The URL the download started with, when ``url`` is a hop a redirect led
                to (its origin alone gets the secret fields; default: ``url``).
            max_redirects: Redirects left to follow (default: :attr:`max_redirects`).

        Raises:
            TooManyRedirectsError: More than ``max_redirects`` redirects.
            RemoteError: A redirect without a usable ``Location``.
            InsecureRedirectError: ``https://`` → ``http://`` without permission.
        """
        if self.session is None:
            self.session, self.own_session = new_session(read_timeout=self.read_timeout), True
        current, start = url, original or url
        limit = self.max_redirects if max_redirects is None else max_redirects
        ssl = ssl_for(self.request)
        for _ in range(limit + 1):
            fields = merged(self.request.headers_for(current, original=start), headers)
            # A field given wins over the URL's user:password (aiohttp refuses both).
            target = without_userinfo(current) if has_field(fields, "Authorization") else current
            proxy = self.request.proxy.proxy_for(current)
            async with self._get(target, fields, ssl, proxy) as response:
                if proxy is not None and response.status == 407:
                    raise proxy_refused(redact(current), proxy.where, 407)
                if response.status in REDIRECT_STATUSES:
                    current = follow_redirect(
                        current,
                        response.headers.get("Location"),
                        original=start,
                        allow_insecure=self.allow_insecure_redirect,
                        trusted=self.request.location_trusted,
                    )
                    continue
                yield AiohttpBody(response)
                return
        raise TooManyRedirectsError(f"more than {self.max_redirects} redirects")

    @contextlib.asynccontextmanager
    async def _get(
        self, url: str, fields: Mapping[str, str], ssl: Any, proxy: Proxy | None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """One ``GET``, no redirect followed; a proxy's refusal of a ``CONNECT`` named."""
        import aiohttp

        assert self.session is not None
        try:
            request = self.session.get(
                url, allow_redirects=False, ssl=ssl, **aiohttp_arguments(proxy, url, fields)
            )
            async with request as response:
                yield response
        except aiohttp.ClientHttpProxyError as exc:
            if proxy is not None and 400 <= exc.status < 500:
                raise proxy_refused(redact(url), proxy.where, exc.status) from None
            raise

    async def aclose(self) -> None:
        """Close the session if this transport created it."""
        if self.own_session and self.session is not None:
            await self.session.close()
