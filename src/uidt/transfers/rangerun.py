"""A download run's ranges: :func:`fetch_ranges` fetches the part file's ranges over several
connections (:class:`~uidt.transfers.segmented.SegmentedFetch`), from the URL and from the
mirrors fit for ranges (vetted once per run, :func:`~uidt.transfers.rangesources.vet_mirrors`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.transfers.autosplit import SplitGovernor
from uidt.transfers.rangesources import RangeSource, vet_mirrors
from uidt.transfers.resumecheck import strong_etag
from uidt.transfers.segmented import SegmentedFetch
from uidt.transfers.segments import AUTO_SPLIT, MAX_SPLIT
from uidt.transfers.transport import Response

if TYPE_CHECKING:
    from uidt.transfers.downloadrun import DownloadRun


async def fetch_ranges(
    run: DownloadRun, first: Response | None, governor: SplitGovernor | None = None
) -> None:
    """Fetch ``run``'s ranges (``first``: an accepted answer whose body goes on at the first
    range's ``done``; ``governor``: ``--split auto``'s, when one connection ran first)."""
    part = run.part
    if run.range_mirrors is None:
        primary = RangeSource(run.url, run.transport, part.etag, part.last_modified, part.total)
        vetted = await vet_mirrors(
            primary,
            run.mirrors,
            transport_for=run.transport_for,
            sha256=run.expected is not None,
            notice=run.notice,
        )
        run.range_mirrors = vetted[1:]
        # taken on the word of --sha256 alone (another ETag): a mismatch may be theirs
        run.unvouched_mirrors = any(
            strong_etag(m.etag) != strong_etag(part.etag) for m in run.range_mirrors
        )
    auto = run.split == AUTO_SPLIT
    fetch = SegmentedFetch(
        run.url,
        part,
        run.transport,
        policy=run.policy,
        sleep=run.sleep,
        clock=run.clock,
        throttle=run.sink.throttle,
        meter=run.meter,
        floor=run.sink.floor,
        on_progress=run.on_progress,
        notice=run.notice,
        copy_chunk_bytes=run.sink.copy_chunk_bytes,
        connections=MAX_SPLIT if auto else int(run.split),
        least=run.min_split_size,
        auto=run.auto if auto else None,
        governor=governor,
        mirrors=run.range_mirrors,
    )
    try:
        await fetch.run(first)
    finally:
        run.attempts += fetch.attempts
        run.segment_received += fetch.received
        run.connections = max(run.connections, fetch.most_connections)
    part.finish_segments()
