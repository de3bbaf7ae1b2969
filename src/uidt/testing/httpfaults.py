"""What the test server (:mod:`uidt.testing.httpserver`) is told and what it records: the
:class:`Faults` of a path, the server's :class:`PathState` for it, and one :class:`RequestRecord`
per request. ``uidt.testing.httpserver`` re-exports :class:`Faults` and :class:`RequestRecord`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["SIGNED_PUT_FIELDS", "Faults", "PathState", "RequestRecord"]


@dataclass
class Faults:
    """How one path misbehaves. Fields left at their defaults do nothing.

    Attributes:
        times: Apply the body/status faults to the first ``times`` requests on the path only
            (every method counts, HEAD and OPTIONS too; ``None``: all requests).
        status: Answer with this status (e.g. 503, 429, 404) instead of the file.
        retry_after: ``Retry-After`` value sent with ``status``.
        reset_after: Abort the connection (RST) after this many body bytes.
        hold_reset: Awaited with the request's record between the last body byte sent and the
            ``reset_after`` reset: a test holds the reset there until the client has taken
            the bytes sent before it (a reader's own buffer, as aiohttp's, is lost with a
            reset, so whether they were taken would otherwise depend on timing).
        truncate_after: Close cleanly after this many body bytes, short of ``Content-Length``.
        drip_bps: Send the body at most this many bytes per second (every request: ``times``
            does not limit it).
        no_ranges: Ignore ``Range``; never send ``Accept-Ranges``.
        no_length: Send the body chunked, without ``Content-Length``.
        redirect_to: Answer ``redirect_status`` (``302``) to this path or URL (itself for a
            redirect loop).
        change_etag: Give the file a new ETag and Last-Modified (same bytes) before answering,
            as if it had been replaced between requests.
        overstate_length: Announce a ``Content-Length`` this many bytes larger than the body,
            send the real body and close (a server whose length is wrong).
        drip_chunk: Bytes per write while dripping (``drip_bps``); default about 1/20 s worth.
        drip_from: Drip only bodies that start at or past this byte (one slow range; the
            others at full speed).
        no_etag: Never send an ``ETag`` (a property of the server: ``times`` does not limit it).
        no_last_modified: Never send a ``Last-Modified`` (not limited by ``times`` either).
        ignore_if_range: Answer a ``Range`` request with ``206`` even when ``If-Range`` no
            longer matches, as some servers do (not limited by ``times``).
        drop: Abort the connection (RST) as soon as a request arrives, before any answer: a
            link that is down, for every method (uploads' ``HEAD`` and ``PATCH`` too).
        offset_delta: tus: add this to every ``Upload-Offset`` the server reports (``HEAD`` and
            ``PATCH`` answers), a server that lies about what it holds.
        methods: Apply the faults that ``times`` limits only to requests with these methods
            (``None``: all); ``times`` still counts every request.
        require_authorization: Answer ``401`` to any request whose ``Authorization`` is not
            exactly this (a server that wants a token; not limited by ``times``).
        range_from_zero: Answer a ``Range`` request with as many bytes from byte 0 instead,
            with a ``Content-Range`` saying so (a broken cache: the wrong range).
    """

    times: int | None = None
    status: int | None = None
    retry_after: str | None = None
    reset_after: int | None = None
    hold_reset: Callable[[RequestRecord], Awaitable[None]] | None = None
    truncate_after: int | None = None
    drip_bps: int | None = None
    no_ranges: bool = False
    no_length: bool = False
    redirect_to: str | None = None
    redirect_status: int = 302
    change_etag: bool = False
    overstate_length: int = 0
    drip_chunk: int | None = None
    drip_from: int = 0
    no_etag: bool = False
    no_last_modified: bool = False
    ignore_if_range: bool = False
    drop: bool = False
    offset_delta: int = 0
    methods: frozenset[str] | None = None
    require_authorization: str | None = None
    range_from_zero: bool = False


#: The only fields a ``PUT`` to ``/signed/...`` may carry: what a presigned URL's signature
#: leaves out (the signature covers the host; S3's older form also the Content-Type, so any
#: other field, Content-Type included, fails the check as it would there).
SIGNED_PUT_FIELDS = frozenset(
    {"host", "content-length", "user-agent", "accept", "accept-encoding", "connection"}
)


@dataclass
class RequestRecord:
    """What the server saw and did for one request."""

    method: str
    path: str
    range: str | None
    if_range: str | None
    status: int = 0
    start: int = 0
    body_bytes: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    """The request's header fields, names in lower case (a repeated one: its last value)."""
    peer_port: int = 0
    """The client's port (a proxy's own connection when one is in between)."""
    finished: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    """Set when the handler is done with the request (answered, or saw the client go away)."""
    reset_asked: bool = False
    """Set by a test (:meth:`~uidt.testing.httpserver.TransferTestServer.reset_body`): the
    connection is reset (RST) before the next piece of the body, the answer unfinished."""

    @property
    def asked_start(self) -> int:
        """Where the request asked the body to start (its ``Range``; 0 without one)."""
        return int((self.range or "bytes=0-")[6:].split("-")[0])


@dataclass
class PathState:
    """One path's faults, its request count (for ``Faults.times``) and its pause gate."""

    faults: Faults = field(default_factory=Faults)
    hits: int = 0
    gate: asyncio.Event | None = None
