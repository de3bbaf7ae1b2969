"""Is the server's answer to a resume about the same file? The checks, and how many restarts.

A resume asks for ``Range: bytes=N-`` with ``If-Range``, but a server may ignore ``If-Range``
(and answer ``206`` for a file that has changed), send no validators at all, or announce more
bytes than it has. Before a single byte of a ``206`` is appended, :func:`check_partial`
compares everything known about the resource with the answer: the ETag, the Last-Modified
date and the complete length in ``Content-Range`` against the total recorded when the download
began (never replaced by a later answer). Where the server gives no strong ETag, the engine
asks for :data:`OVERLAP_BYTES` before the resume point again and compares them with the partial
file (:func:`resume_start`), as a changed file rarely keeps the same bytes there. A ``416`` is
checked by :func:`check_unsatisfiable`. :class:`ResumeRequest` puts these together for one part
file: the request headers, the checks of each answer, the overlap.

Any mismatch is a :class:`RestartFromZero` with the reason; the engine counts restarts and, past
its retry budget, ends the job with :func:`restart_limit_error` ("the server sent fewer bytes
than it announced, 7 times"), so a server that contradicts itself cannot make it loop forever.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from uidt.errors import InconsistentServerError, ResourceChangedError, TransferError
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import PartFile
from uidt.transfers.rawhttp import BadResponseError, BodyEndedError

#: Bytes fetched again before the resume point when the server gives no strong validator.
OVERLAP_BYTES = 16 * 1024


class RestartFromZero(Exception):
    """The answer is not about the file the partial bytes came from (or cannot continue it).

    Attributes:
        notice: Why.
        whole_file: The answer itself is the whole current file (a ``200`` to ``If-Range``
            naming a new version): the engine may write its body from byte 0 instead of
            asking again.
    """

    def __init__(self, notice: Notice, *, whole_file: bool = False) -> None:
        super().__init__(notice.text)
        self.notice = notice
        self.whole_file = whole_file


def strong_etag(etag: str | None) -> str | None:
    """``etag`` if it is a strong validator (weak ones, ``W/"…"``, do not vouch for bytes)."""
    return etag if etag and not etag.startswith("W/") else None


def resume_start(written: int, etag: str | None) -> int:
    """Where to ask the server to start: ``written``, or a little before to compare an overlap.

    The overlap is asked for whenever no strong ETag vouches for the bytes; with a SHA-256 to
    check at the end too, as the overlap catches a changed file at once and restarts, where
    the final check could only fail the run.
    """
    if written == 0 or strong_etag(etag) is not None:
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


class ResumeRequest:
    """The request for the rest of one part file, and the checks on the server's answer.

    Args:
        part: The part file (its offset, validators and recorded total).
        hashing: A SHA-256 will be checked at the end (said in the notice of an unverified
            resume).
        notice: Told when a resume cannot be verified with the server's validators.
    """

    def __init__(self, part: PartFile, *, hashing: bool, notice: Callable[[Notice], None]) -> None:
        self.part = part
        self.hashing = hashing
        self.notice = notice
        self.start = 0  # where the body of the current request begins
        self.overlap: bytes | None = None  # bytes that body must repeat before the written end

    def headers(self) -> dict[str, str]:
        """The headers of the next request: ``Range`` and ``If-Range`` when resuming."""
        headers = {"Accept-Encoding": "identity"}
        part = self.part
        self.start = resume_start(part.written, part.etag)
        self.overlap = None
        if part.written > 0:
            headers["Range"] = f"bytes={self.start}-"
            validator = strong_etag(part.etag) or part.last_modified
            if validator is not None:
                headers["If-Range"] = validator
            else:
                self.notice(
                    Notice.RESUME_UNVERIFIED_SHA256 if self.hashing else Notice.RESUME_UNVERIFIED
                )
        return headers

    def check_head(self, status: int, headers: Any, content_length: int | None) -> bool:
        """Judge a 200, 206 or 416 answer; ``True`` when its body continues the part file.

        Records the total and validators of a fresh download; checks a resume against them.

        Raises:
            RestartFromZero: The answer cannot continue the part file.
            BadResponseError: A malformed ``206`` (retried).
        """
        part = self.part
        etag, last_modified = headers.get("ETag"), headers.get("Last-Modified")
        if status == 416:
            check_unsatisfiable(
                headers,
                written=part.written,
                etag=part.etag,
                last_modified=part.last_modified,
                total=part.total,
            )
            return False
        if status == 200 and part.written > 0:
            changed = _differs(part.etag, etag) or _differs(part.last_modified, last_modified)
            if not changed:
                raise RestartFromZero(Notice.RESTARTED_NO_RANGES)
            # RFC 9110 13.1.5: a 200 to If-Range is the whole current file. Unless it still
            # carries the old ETag (a server contradicting itself), its body may be used.
            # A part file another source left: this source has another version of the file.
            why = Notice.RESTARTED_RESOURCE_CHANGED
            if part.adopted_from is not None:
                why = Notice.RESTARTED_OTHER_SOURCE
            raise RestartFromZero(why, whole_file=part.etag is None or etag != part.etag)
        if status == 206:
            part.total = check_partial(
                headers,
                start=self.start,
                etag=part.etag,
                last_modified=part.last_modified,
                total=part.total,
            )
            if self.start < part.written:
                with open(part.path, "rb") as handle:
                    handle.seek(self.start)
                    self.overlap = handle.read(part.written - self.start)
            # Validators the server did not give before are adopted; known ones never change.
            part.etag = part.etag or etag
            part.last_modified = part.last_modified or last_modified
            if part.adopted_from is not None:  # another source's part file, confirmed here
                part.adopted_from = None
                self.notice(Notice.RESUMED_OTHER_SOURCE)
        else:
            part.total = content_length
            part.etag, part.last_modified = etag, last_modified
        return True

    def check_overlap(self, received: bytes) -> None:
        """Compare the repeated bytes with the part file (a mismatch: the file changed)."""
        if received != self.overlap:
            raise RestartFromZero(Notice.RESTARTED_RESOURCE_CHANGED)
        self.overlap = None

    def check_finished(self) -> None:
        """After a body ended: raise :class:`BodyEndedError` unless the part file is complete."""
        total = self.part.total
        if total is not None and self.part.written < total:
            raise BodyEndedError("the body ended early")
        if self.overlap is not None:
            raise BodyEndedError("the body ended before the resume point")
