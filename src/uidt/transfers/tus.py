"""The steps of the tus 1.0 protocol (``core`` + ``creation``, and ``termination`` for a
cancel), one request each.

:class:`TusClient` asks, creates, reads the offset, sends bytes and terminates; it turns the server's
answers into values or errors (a status worth retrying becomes
:class:`~uidt.transfers.failures.TransientStatusError`, a refusal :class:`RemoteError`), and
decides nothing about retrying or resuming: that is the run's part (:mod:`uidt.transfers.uploadrun`).
:class:`OffsetWatch` holds what the server said about its offset against what was sent, so a
server that claims bytes it never got, or loses bytes it acknowledged, is caught.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from uidt.clock import Clock
from uidt.errors import InconsistentServerError, RemoteError
from uidt.transfers.failures import TransientStatusError
from uidt.transfers.http import ResponseHead
from uidt.transfers.request import RequestOptions, has_field, merged, without_userinfo
from uidt.transfers.retry import TRANSIENT_STATUSES, parse_retry_after

TUS_VERSION = "1.0.0"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
_GONE = (403, 404, 410)


class UploadGoneError(RemoteError):
    """The server no longer knows the upload (``HEAD`` answered 403, 404 or 410)."""


def encode_metadata(metadata: Mapping[str, str]) -> str:
    """tus ``Upload-Metadata``: ``key base64(value)`` pairs separated by commas."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in metadata.items()
    )


SendBody = Callable[
    [str, str, Mapping[str, str], int, int, "OffsetWatch | None"],
    contextlib.AbstractAsyncContextManager[ResponseHead],
]
"""Sends a request whose body is a range of the file: ``(method, url, fields, offset, length,
watch)`` → its answer (:meth:`uidt.transfers.uploadsend.BodyRequests.send`)."""


def check_status(response: ResponseHead, url: str, what: str, clock: Clock) -> None:
    """Raise for an answer that is not a success: transient (5xx/429/408), a refusal, or a
    redirect left unfollowed.

    Raises:
        TransientStatusError: A status worth retrying, with the server's ``Retry-After``.
        ProxyError: A ``407`` (a proxy that wants credentials).
        RemoteError: Any other status from 400 up, or a 3xx.
    """
    status = response.status
    if status in TRANSIENT_STATUSES:
        wait = parse_retry_after(response.headers.get("Retry-After"), clock.utc())
        raise TransientStatusError(status, response.reason or "", wait)
    if 300 <= status < 400:
        # Not followed (a body request, or one carrying secret fields), or no usable
        # Location: the bytes did not arrive anywhere, so this is no success.
        raise RemoteError(
            f"{what} {url}: the server answered {status} {response.reason}, a redirect that "
            "was not followed (uidt sends an upload's bytes only to the URL given: give the "
            "one the server names; and a request with secret header fields follows no "
            "redirect unless --location-trusted is given)"
        )
    if status == 407:  # only a proxy asks for its own credentials
        from uidt.transfers.proxy import proxy_refused

        raise proxy_refused(f"{what} {url}", None, 407)
    if status >= 400:
        raise RemoteError(f"{what} {url}: the server answered {status} {response.reason}")


def _offset(response: ResponseHead) -> int | None:
    value = response.headers.get("Upload-Offset", "")
    return int(value) if value.isdigit() else None


class TusClient:
    """The tus requests of one upload.

    Args:
        session: The ``aiohttp`` session.
        url: The creation endpoint (and the URL errors name).
        clock: Wall-clock time, for a ``Retry-After`` given as a date.
        request: The user's header fields and TLS choices (the plain upload's requests too).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        clock: Clock,
        request: RequestOptions | None = None,
    ) -> None:
        self.session = session
        self.url = url
        self.clock = clock
        self.request_options = request or RequestOptions()

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        data: Any = None,
        *,
        skip_auto_headers: tuple[str, ...] = (),
        allow_redirects: bool = True,
    ) -> Any:
        """``session.request`` with the user's fields (secret ones only to the origin of
        :attr:`url` unless trusted) under uidt's own ``headers``, and the job's TLS choice.

        A request carrying secret fields does not follow redirects (``aiohttp`` would take
        them to another host), unless they are trusted there (``--location-trusted``); one
        with ``allow_redirects=False`` follows none.
        """
        from uidt.transfers.proxy import aiohttp_arguments
        from uidt.transfers.tls import ssl_for

        options = self.request_options
        fields = self.fields_for(url, headers)
        target = without_userinfo(url) if has_field(fields, "Authorization") else url
        trusted = options.location_trusted or not any(options.is_secret(n) for n in fields)
        follow = allow_redirects and trusted
        return self.session.request(
            method,
            target,
            data=data,
            ssl=ssl_for(options),
            allow_redirects=follow,
            skip_auto_headers=skip_auto_headers or None,
            **aiohttp_arguments(options.proxy.proxy_for(url), url, fields),
        )

    def fields_for(self, url: str, headers: Mapping[str, str]) -> dict[str, str]:
        """The user's fields for ``url`` (secret ones only to the origin of :attr:`url` unless
        trusted) with uidt's own ``headers`` over them."""
        return merged(self.request_options.headers_for(url, original=self.url), headers)

    async def offers_tus(self) -> bool:
        """Does the server offer tus 1.0 with ``creation`` (``OPTIONS``)?"""
        headers = {"Tus-Resumable": TUS_VERSION}
        async with self.send("OPTIONS", self.url, headers) as resp:
            if resp.status in TRANSIENT_STATUSES:
                check_status(resp, self.url, "OPTIONS", self.clock)
            versions = resp.headers.get("Tus-Version", "")
            extensions = resp.headers.get("Tus-Extension", "")
            return TUS_VERSION in versions.replace(" ", "").split(",") and "creation" in extensions

    async def extensions(self) -> frozenset[str]:
        """The tus extensions the server offers (``OPTIONS``; none when it speaks no tus 1.0)."""
        headers = {"Tus-Resumable": TUS_VERSION}
        async with self.send("OPTIONS", self.url, headers) as resp:
            check_status(resp, self.url, "OPTIONS", self.clock)
            versions = resp.headers.get("Tus-Version", "").replace(" ", "").split(",")
            offered = resp.headers.get("Tus-Extension", "").replace(" ", "").split(",")
        return frozenset(e for e in offered if e) if TUS_VERSION in versions else frozenset()

    async def terminate(self, upload_url: str) -> None:
        """Ask the server to forget ``upload_url`` and its bytes (``DELETE``, the tus
        ``termination`` extension); an upload it no longer knows is fine.

        Raises:
            TransientStatusError: A status worth retrying.
            RemoteError: The server refused.
        """
        headers = {"Tus-Resumable": TUS_VERSION}
        async with self.send("DELETE", upload_url, headers) as resp:
            if resp.status in _GONE:
                return
            check_status(resp, self.url, "DELETE", self.clock)

    async def create(self, size: int, metadata: Mapping[str, str]) -> str:
        """Create an upload of ``size`` bytes (``POST``); return its absolute URL."""
        headers = {"Tus-Resumable": TUS_VERSION, "Upload-Length": str(size)}
        if metadata:
            headers["Upload-Metadata"] = encode_metadata(metadata)
        async with self.send("POST", self.url, headers) as resp:
            check_status(resp, self.url, "creating the upload at", self.clock)
            location = resp.headers.get("Location")
            if resp.status != 201 or not location:
                raise RemoteError(
                    f"{self.url}: tus creation answered {resp.status} without Location"
                )
        return str(URL(self.url).join(URL(location)))

    async def offset(self, upload_url: str) -> int:
        """The server's ``Upload-Offset`` of ``upload_url`` (``HEAD``).

        Raises:
            UploadGoneError: The server forgot the upload.
        """
        headers = {"Tus-Resumable": TUS_VERSION}
        async with self.send("HEAD", upload_url, headers) as resp:
            if resp.status in _GONE:
                raise UploadGoneError(f"{upload_url}: the server forgot the upload")
            check_status(resp, self.url, "HEAD", self.clock)
            offset = _offset(resp)
        if offset is None:
            raise RemoteError(f"{upload_url}: HEAD gave no Upload-Offset")
        return offset

    async def patch(
        self,
        upload_url: str,
        offset: int,
        length: int,
        send: SendBody,
        watch: OffsetWatch | None = None,
    ) -> int | None:
        """Send ``length`` bytes from ``offset`` (``PATCH``, the body through ``send``);
        return the server's new offset.

        ``None``: the server disagrees about the offset (409) or did not say (ask ``HEAD``).
        """
        headers = {
            "Tus-Resumable": TUS_VERSION,
            "Upload-Offset": str(offset),
            "Content-Type": OFFSET_CONTENT_TYPE,
            "Content-Length": str(length),
        }
        async with send("PATCH", upload_url, headers, offset, length, watch) as resp:
            if resp.status == 409:
                return None
            check_status(resp, self.url, "PATCH", self.clock)
            return _offset(resp)


class OffsetWatch:
    """What the server said about one upload's offset, held against what was sent to it.

    Args:
        url: The upload's URL (named in errors).
        size: The file's size.
        sent_up_to: The most the server can hold: 0 for an upload created by this run; for one
            resumed from an earlier run, the first offset the server reports is all there is
            to go by (what earlier runs sent is not recorded), so ``None`` until then.
        limit: How many times the server may lose bytes it had acknowledged.

    Attributes:
        first: The first offset the server reported (``None``: not asked yet).
        acknowledged: The highest offset the server has reported.
        last: The offset it reported last (``None``: not asked yet).
        losses: Times the server reported less than it had before.
    """

    def __init__(self, url: str, size: int, sent_up_to: int | None, limit: int) -> None:
        self.url = url
        self.size = size
        self.sent_up_to = sent_up_to
        self.limit = limit
        self.first: int | None = None
        self.acknowledged = 0
        self.last: int | None = None
        self.losses = 0

    @property
    def gained(self) -> int:
        """Bytes the server acknowledged beyond its first answer: the progress made."""
        return 0 if self.first is None else self.acknowledged - self.first

    def sending(self, end: int) -> None:
        """Bytes up to ``end`` are about to go out (the server may hold them from now on)."""
        self.sent_up_to = max(self.sent_up_to or 0, end)

    def reported(self, offset: int) -> bool:
        """Check a reported offset; return whether the server lost bytes it had acknowledged.

        Raises:
            InconsistentServerError: The offset is past the end of the file, or past what was
                sent, or the server has lost acknowledged bytes more than ``limit`` times.
        """
        if offset > self.size:
            raise InconsistentServerError(
                f"{self.url}: the server claims {offset} bytes of a {self.size}-byte upload"
            )
        if self.sent_up_to is not None and offset > self.sent_up_to:
            raise InconsistentServerError(
                f"{self.url}: the server claims {offset} bytes, but only {self.sent_up_to} "
                "were sent"
            )
        if self.sent_up_to is None:
            self.sent_up_to = offset
        if self.first is None:
            self.first = offset
        lost = self.last is not None and offset < self.last
        self.last = offset
        self.acknowledged = max(self.acknowledged, offset)
        if lost:
            self.losses += 1
            if self.losses > self.limit:
                raise InconsistentServerError(
                    f"{self.url}: the server lost bytes it had acknowledged, {self.losses} times"
                )
        return lost
