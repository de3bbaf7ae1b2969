"""Several sources for one file: ``--mirror URL`` and the tab-separated URLs of an input line.

A run tries the sources in the order given: the URL, then each mirror. It moves on when one
fails for a reason that is the source's (an HTTP error status, a bad certificate, a refused
redirect, the bytes not matching ``sha256``) or when its retries are used up (a network that
keeps failing, or a source slower than the lowest-speed rule, which is how a far slower source
is left). Problems of this machine (no space, an unsafe destination, another writer, bad
request options) end the run at once: another source would not fix them.

Never two versions in one file: the part file's checkpoint records the URL it came from and
that source's validators. The fetch of another source of the same job continues it only where
that source answers the ``Range`` request under the recorded validator (``If-Range``: the same
strong ETag, or the same Last-Modified, and the same size; see ``download(..., mirrors=...)``);
any other answer restarts from byte zero, and a checkpoint of a URL that is not a source of the
job is ignored. ``sha256`` is checked at the end as always, whichever source served the file:
it catches a source that claims another's ETag for other bytes.

Secret header fields (``Authorization``, ``--header-env`` values, …) go only to sources of the
URL's own origin (scheme, host, port), as for a redirect, unless ``--location-trusted``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from uidt.errors import (
    DestinationBusyError,
    FencedOffError,
    InvalidJobError,
    NoSpaceError,
    RetryLaterError,
    TransferError,
    UnsafeFileError,
)
from uidt.redact import redact
from uidt.transfers.request import RequestOptions, origin

T = TypeVar("T")

#: Failures another source cannot fix (this machine's, or the job's own).
LOCAL_FAILURES: tuple[type[Exception], ...] = (
    NoSpaceError,
    DestinationBusyError,
    FencedOffError,
    UnsafeFileError,
    InvalidJobError,
)


def options_for(request: RequestOptions, source: str, first: str) -> RequestOptions:
    """``request`` for ``source``: without its secret fields when ``source`` is another
    origin than ``first`` (unless ``location_trusted``)."""
    if request.location_trusted or origin(source) == origin(first):
        return request
    kept = tuple((n, v) for n, v in request.headers if not request.is_secret(n))
    return dataclasses.replace(request, headers=kept)


async def from_sources(
    sources: Sequence[str],
    request: RequestOptions,
    fetch: Callable[[str, RequestOptions], Awaitable[T]],
    *,
    on_switch: Callable[[str, str], None] | None = None,
) -> T:
    """``fetch`` each source in turn until one succeeds; its result.

    ``on_switch(failed_source, reason)`` is told before the next source is tried.

    Raises:
        RetryLaterError: every source failed and the last one's trouble was transient (a later
            run may succeed), naming each source and why.
        TransferError: every source failed, or one failed for a local reason.
    """
    reasons: list[str] = []
    last: TransferError | None = None
    for index, source in enumerate(sources):
        try:
            return await fetch(source, options_for(request, source, sources[0]))
        except LOCAL_FAILURES:
            raise
        except TransferError as exc:
            if len(sources) == 1:
                raise
            last = exc
            reasons.append(f"{redact(source)}: {exc}")
            if on_switch is not None and index + 1 < len(sources):
                on_switch(source, str(exc))
    assert last is not None
    message = f"all {len(sources)} sources failed: " + "; ".join(reasons)
    if isinstance(last, RetryLaterError):
        raise RetryLaterError(message, progressed=last.progressed) from last
    raise TransferError(message) from last


def sources(extras: Mapping[str, Any]) -> list[str]:
    """A download job's sources: ``extras["url"]``, then ``extras["mirrors"]`` (if any)."""
    mirrors = extras.get("mirrors") or []
    return [str(extras["url"]), *(str(m) for m in mirrors if isinstance(m, str))]
