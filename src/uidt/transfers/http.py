"""HTTP pieces shared by the download and upload engines: URL checks, response heads, sessions."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from uidt.errors import TransferError

if TYPE_CHECKING:
    import aiohttp

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def check_url(url: str) -> str:
    """Return the scheme of ``url``; raise :class:`TransferError` unless it is absolute http(s)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except (TypeError, ValueError) as exc:
        raise TransferError(f"bad URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise TransferError(f"bad URL {url!r}: only absolute http:// and https:// URLs work")
    return scheme


class ResponseHead(Protocol):
    """The parts of a response head the engine reads (``aiohttp`` and :class:`RawResponse`)."""

    @property
    def status(self) -> int: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def headers(self) -> Any: ...
    @property
    def content_length(self) -> int | None: ...


async def finish(future: asyncio.Future[Any]) -> None:
    """Wait for ``future`` to end, through cancellations; its outcome is not wanted."""
    cancelled = False
    while not future.done():
        try:
            await asyncio.wait({future})
        except asyncio.CancelledError:
            cancelled = True
    if not future.cancelled():
        future.exception()  # mark it retrieved
    if cancelled:
        raise asyncio.CancelledError


def parse_content_range(value: str | None) -> tuple[int, int | None]:
    """``bytes START-END/TOTAL`` → ``(START, TOTAL or None)``; garbage gives ``(-1, None)``."""
    if not value or not value.startswith("bytes "):
        return -1, None
    span, _, total = value[len("bytes ") :].partition("/")
    first = span.partition("-")[0]
    if not first.isdigit():
        return -1, None
    return int(first), int(total) if total.isdigit() else None


def new_session(*, read_timeout: float = 60.0, **kwargs: Any) -> aiohttp.ClientSession:
    """An ``aiohttp`` session configured for transfers (no decompression, long reads)."""
    import aiohttp  # on first use: keeps the worker start-up light

    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=read_timeout)
    return aiohttp.ClientSession(auto_decompress=False, timeout=timeout, **kwargs)
