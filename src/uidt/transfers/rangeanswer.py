"""What a segmented download asks for and what it accepts (:mod:`uidt.transfers.segmented`):
:func:`plan_from_answer` (may this file take several connections?), :func:`range_headers` and
:func:`check_range_answer` (one range's request and the check of its answer, before a byte of
it is written).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.clock import Clock
from uidt.errors import RemoteError
from uidt.transfers.failures import TransientStatusError
from uidt.transfers.http import ResponseHead
from uidt.transfers.notices import Notice
from uidt.transfers.resumecheck import RestartFromZero, check_partial, parse_span, strong_etag
from uidt.transfers.retry import TRANSIENT_STATUSES, parse_retry_after
from uidt.transfers.segments import (
    AUTO_SPLIT,
    MAX_SPLIT,
    Segment,
    Split,
    plan_segments,
    split_count,
)

if TYPE_CHECKING:
    from uidt.transfers.rangesources import RangeSource


def plan_from_answer(
    response: ResponseHead, *, split: Split, min_split_size: int
) -> list[Segment] | None:
    """The ranges to fetch when the answer to ``Range: bytes=0-`` allows several connections.

    ``None`` (one connection) unless it is a ``206`` for the whole file (``0-`` to its end,
    the length said), with a strong ETag or a Last-Modified date to hold the ranges to one
    version, and large enough for two ranges or more. With ``split="auto"``: one range, the
    whole file (cut later while connections are added); the answer may start past byte 0 (a
    resumed one-connection download, which :mod:`uidt.transfers.autoswitch` may still move to
    ranges) but must run to the end of the file.
    """
    if split == 1 or response.status != 206:
        return None
    headers = response.headers
    span = parse_span(headers.get("Content-Range"))
    if span is None:
        return None
    first, last, total = span
    if total is None or last != total - 1 or response.content_length != total - first:
        return None
    if first != 0 and split != AUTO_SPLIT:
        return None
    if strong_etag(headers.get("ETag")) is None and not headers.get("Last-Modified"):
        return None
    count = split_count(total, MAX_SPLIT if split == AUTO_SPLIT else split, min_split_size)
    if count < 2:
        return None
    return plan_segments(total, 1 if split == AUTO_SPLIT else count)


def range_headers(source: RangeSource, segment: Segment) -> dict[str, str]:
    """The request for the missing bytes of ``segment``, held to the source's version."""
    validator = strong_etag(source.etag) or source.last_modified
    headers = {
        "Accept-Encoding": "identity",
        "Range": f"bytes={segment.done}-{segment.end - 1}",
    }
    if validator is not None:
        headers["If-Range"] = validator
    return headers


def check_range_answer(
    source: RangeSource, segment: Segment, response: ResponseHead, clock: Clock
) -> None:
    """Accept a ``206`` for this range of the source's version; raise for anything else.

    Raises:
        TransientStatusError: A status worth asking again (``Retry-After`` read with ``clock``).
        RestartFromZero: A ``200`` (no ranges, or another version), a ``416``, or a ``206`` of
            another version or another start: never written.
        RemoteError: Any other status.
    """
    status, headers = response.status, response.headers
    if status in TRANSIENT_STATUSES:
        wait = parse_retry_after(headers.get("Retry-After"), clock.utc())
        raise TransientStatusError(status, response.reason or "", wait)
    if status == 200:
        changed = (source.etag is not None and headers.get("ETag") != source.etag) or (
            source.last_modified is not None
            and headers.get("Last-Modified") != source.last_modified
        )
        raise RestartFromZero(
            Notice.RESTARTED_RESOURCE_CHANGED if changed else Notice.RESTARTED_NO_RANGES
        )
    if status == 416:
        raise RestartFromZero(Notice.RESTARTED_RESOURCE_CHANGED)
    if status != 206:
        raise RemoteError(f"{source.url}: the server answered {status} {response.reason}")
    check_partial(
        headers,
        start=segment.done,
        etag=source.etag,
        last_modified=source.last_modified,
        total=source.total,
    )
