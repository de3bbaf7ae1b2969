"""Is the server's answer to a resume about the same file? The checks, and how many restarts.

A resume asks for ``Range: bytes=N-`` with ``If-Range``, but a server may ignore ``If-Range``
(and answer ``206`` for a file that has changed), send no validators at all, or announce more
bytes than it has. Before a single byte of a ``206`` is appended, :func:`check_partial`
compares everything known about the resource with the answer: the ETag, the Last-Modified
date and the complete length in ``Content-Range`` against the total recorded when the download
began (never replaced by a later answer). Where the server gives no strong ETag and the caller
has no SHA-256 to check at the end, the engine asks for :data:`OVERLAP_BYTES` before the resume
point again and compares them with the partial file (:func:`resume_start`), as a changed file
rarely keeps the same bytes there. A ``416`` is checked by :func:`check_unsatisfiable`.

Any mismatch is a :class:`RestartFromZero` with the reason; the engine counts restarts and, past
its retry budget, ends the job with :func:`restart_limit_error` ("the server sent fewer bytes
than it announced, 7 times"), so a server that contradicts itself cannot make it loop forever.
"""

from __future__ import annotations

from collections.abc import Mapping

from uidt.errors import InconsistentServerError, ResourceChangedError, TransferError
from uidt.transfers.notices import Notice
from uidt.transfers.rawhttp import BadResponseError

#: Bytes fetched again before the resume point when the server gives no strong validator.
OVERLAP_BYTES = 16 * 1024


class RestartFromZero(Exception):
    """The answer is not about the file the partial bytes came from (or cannot continue it)."""

    def __init__(self, notice: Notice) -> None:
        super().__init__(notice.text)
        self.notice = notice


def strong_etag(etag: str | None) -> str | None:
    """``etag`` if it is a strong validator (weak ones, ``W/"…"``, do not vouch for bytes)."""
    return etag if etag and not etag.startswith("W/") else None


def resume_start(written: int, etag: str | None, *, hashing: bool) -> int:
    """Where to ask the server to start: ``written``, or a little before to compare an overlap.

    The overlap is asked for when no strong ETag vouches for the bytes and no SHA-256 will be
    checked at the end.
    """
    if written == 0 or hashing or strong_etag(etag) is not None:
        return written
    return max(0, written - OVERLAP_BYTES)


def parse_span(value: str | None) -> tuple[int, int, int | None] | None:
    """``bytes FIRST-LAST/TOTAL`` → ``(FIRST, LAST, TOTAL or None)``; ``None`` if malformed."""
    if not value or not value.startswith("bytes "):
        return None
    span, _, total = value[len("bytes ") :].partition("/")
    first, _, last = span.partition("-")
    if not (first.isdigit() and last.isdigit()) or int(last) < int(first):
        return None
    if total != "*" and not total.isdigit():
        return None
    return int(first), int(last), int(total) if total.isdigit() else None


def _differs(recorded: str | None, answered: str | None) -> bool:
    return recorded is not None and answered is not None and recorded != answered


def check_partial(
    headers: Mapping[str, str],
    *,
    start: int,
    etag: str | None,
    last_modified: str | None,
    total: int | None,
) -> int | None:
    """Check a ``206`` to ``bytes=START-`` against what is known; return the complete length.

    Raises:
        RestartFromZero: The answer is about another version of the file, or another range.
        BadResponseError: ``Content-Range`` is missing or malformed, or ``Content-Length``
            disagrees with it (a transient fault: the attempt is retried).
    """
    span = parse_span(headers.get("Content-Range"))
    if span is None:
        raise BadResponseError(f"a 206 with a bad Content-Range: {headers.get('Content-Range')!r}")
    first, last, complete = span
    length = (headers.get("Content-Length") or "").strip()
    if length and (not length.isdigit() or int(length) != last - first + 1):
        raise BadResponseError(
            f"a 206 whose Content-Length {length} does not match Content-Range {first}-{last}"
        )
    if complete is not None and last >= complete:
        raise BadResponseError(f"a 206 for bytes {first}-{last} of a {complete}-byte file")
    if (
        first != start
        or _differs(etag, headers.get("ETag"))
        or _differs(last_modified, headers.get("Last-Modified"))
        or (total is not None and complete is not None and complete != total)
    ):
        raise RestartFromZero(Notice.RESTARTED_RESOURCE_CHANGED)
    return complete if total is None else total


def check_unsatisfiable(
    headers: Mapping[str, str],
    *,
    written: int,
    etag: str | None,
    last_modified: str | None,
    total: int | None,
) -> None:
    """A ``416`` to ``bytes=WRITTEN-`` is fine when the file is exactly WRITTEN bytes, unchanged.

    Raises:
        RestartFromZero: ``RESTARTED_SHORT_BODY`` when the server now says the file is just the
            bytes received although it announced more (its ``Content-Length`` was too large);
            ``RESTARTED_RESOURCE_CHANGED`` for any other mismatch.
    """
    if _differs(etag, headers.get("ETag")) or _differs(last_modified, headers.get("Last-Modified")):
        raise RestartFromZero(Notice.RESTARTED_RESOURCE_CHANGED)
    if headers.get("Content-Range", "") != f"bytes */{written}":
        raise RestartFromZero(Notice.RESTARTED_RESOURCE_CHANGED)
    if total is not None and total > written:
        raise RestartFromZero(Notice.RESTARTED_SHORT_BODY)
    if total is not None and total != written:
        raise RestartFromZero(Notice.RESTARTED_RESOURCE_CHANGED)


def restart_limit_error(url: str, notice: Notice, times: int) -> TransferError:
    """The error that ends a run after too many restarts from zero for ``notice``."""
    if notice is Notice.RESTARTED_SHORT_BODY:
        return InconsistentServerError(
            f"{url}: the server sent fewer bytes than it announced, {times} times"
        )
    if notice is Notice.RESTARTED_RESOURCE_CHANGED:
        return ResourceChangedError(
            f"{url}: the file changed on the server {times} times during the download"
        )
    if notice is Notice.RESTARTED_NO_RANGES:
        return InconsistentServerError(
            f"{url}: the server cannot resume (no Range support) and the transfer broke off "
            f"{times} times"
        )
    return InconsistentServerError(f"{url}: restarted from zero {times} times ({notice.text})")
