"""Where a segmented download's ranges may come from: :class:`RangeSource`,
:func:`why_not_for_ranges` and :func:`vet_mirrors`.

With ``--mirror`` the ranges of one file may come from several sources at once (aria2 spreads
its connections over its URIs), but never two versions in one file: a mirror is used for
ranges only when it shows the same size as the file being fetched and the same strong ETag,
or, where the ETags differ or are missing, when ``--sha256`` is given (the whole file is
checked before it is published, so a mix is never published; the download then fetches the
file again from its URL alone: ``DownloadRun.publish``). Each mirror is asked once,
``Range: bytes=0-0``, before a range goes to it; a mirror that shows another size or another
ETag without ``--sha256``, or does not take ranges, is left out of the ranges (the notice
``mirror-not-for-ranges`` says so) and stays a source to switch to as before
(:mod:`uidt.transfers.mirrors`). Every range asked of a mirror is then checked against that
mirror's own validators (``If-Range`` and the ``206`` checks), so a mirror that changes its
file midway restarts the download from zero, like the first source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from uidt.redact import redact
from uidt.transfers.http import ResponseHead
from uidt.transfers.notices import Notice
from uidt.transfers.resumecheck import parse_span, strong_etag
from uidt.transfers.transport import Transports

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RangeSource:
    """One URL ranges are asked of, with the transport for it (its own request options: no
    secret field of another origin) and the validators its answers must carry."""

    url: str
    transport: Transports
    etag: str | None
    last_modified: str | None
    total: int | None


def why_not_for_ranges(
    response: ResponseHead, *, total: int, etag: str | None, sha256: bool
) -> str | None:
    """Why a mirror's answer to ``Range: bytes=0-0`` rules it out for ranges (``None``: fit).

    ``total`` and ``etag``: the size and ETag of the file being fetched; ``sha256``: whether
    the whole file is checked at the end.
    """
    if response.status != 206:
        return f"it answered {response.status} to a range"
    span = parse_span(response.headers.get("Content-Range"))
    if span is None or span[0] != 0 or span[2] is None:
        return "its answer to a range names no size"
    if span[2] != total:
        return f"it has {span[2]} bytes, not {total}"
    theirs = strong_etag(response.headers.get("ETag"))
    if theirs is not None and theirs == strong_etag(etag):
        return None
    if sha256:
        return None  # another ETag (or none): the SHA-256 of the whole file decides
    if theirs is None:
        return "it gives no strong ETag (and no --sha256 checks the file)"
    return "it gives another ETag (another version; no --sha256 checks the file)"


async def vet_mirrors(
    first: RangeSource,
    mirrors: Sequence[str],
    *,
    transport_for: Callable[[str], Transports],
    sha256: bool,
    notice: Callable[[Notice], None],
) -> list[RangeSource]:
    """``first``, then each mirror fit for ranges (see the module docstring).

    ``transport_for(url)`` makes a mirror's transport; one that is left out is closed here.
    """
    sources = [first]
    if first.total is None:
        return sources
    for url in mirrors:
        transport = transport_for(url)
        headers = {"Accept-Encoding": "identity", "Range": "bytes=0-0"}
        try:
            async with transport.open(url, headers) as response:
                why = why_not_for_ranges(
                    response, total=first.total, etag=first.etag, sha256=sha256
                )
                etag = response.headers.get("ETag")
                last_modified = response.headers.get("Last-Modified")
        except Exception as exc:
            why = f"it could not be asked ({exc or type(exc).__name__})"
        if why is None:
            sources.append(RangeSource(url, transport, etag, last_modified, first.total))
            continue
        await transport.aclose()
        _log.info("%s: not used for ranges: %s", redact(url), why)
        notice(Notice.MIRROR_NOT_FOR_RANGES)
    return sources
