"""``--split auto`` begins as a download without ``--split``: :func:`pour_watching`, then, only
when a trial of more connections is due, :func:`begin_ranges`.

The first answer (a ``206`` to ``Range: bytes=0-`` that allows ranges,
:func:`~uidt.transfers.rangeanswer.plan_from_answer`; or, on a retry or a resumed run, a
``206`` from where the part file ends to the end of the file) is taken exactly as one
connection takes it: appended to the part file through the :class:`~uidt.transfers.bodysink.BodySink`, by the
same reader (``splice`` for ``http://``, the TLS reader for ``https://``), with the same
checkpoints. Beside it a :class:`~uidt.transfers.autosplit.SplitGovernor` reads the bytes
written every :data:`~uidt.transfers.segmented.GOVERN_SECONDS`. On a fast link the file ends
first, or its rest would take less than ``worth_ms`` at the measured rate: the download never
was anything but one connection, and costs what one connection costs.

When the governor's first trial is due, the sink stops taking the body after its next write
(:class:`~uidt.transfers.sink.PourPaused`): the response stays open, positioned at the first
byte not written. :func:`begin_ranges` turns the part file into a segmented one: synced, a
segmented checkpoint naming one range, the whole file, with the bytes written so far done, is
saved *before* the file is made ``total`` bytes long (a kill between the two leaves a
checkpoint that does not fit the file: refused and started over, never a hole read as data).
The segmented fetch (:mod:`uidt.transfers.segmented`) then goes on with the same response as
its first range's body and opens the trial's connections at once on the far part; the first
range's end moves back only past the read in flight
(:attr:`~uidt.transfers.rangesink.RangeSink.reading_to`), so its connection stops exactly
where the next range starts: no byte fetched twice, none missed.
"""

from __future__ import annotations

import asyncio

from uidt.clock import Clock
from uidt.transfers.autosplit import AutoSplit, SplitGovernor, Verdict
from uidt.transfers.bodysink import BodySink
from uidt.transfers.partfile import PartFile
from uidt.transfers.segmented import GOVERN_SECONDS
from uidt.transfers.segments import Segment, split_count
from uidt.transfers.sink import PourPaused
from uidt.transfers.transport import Response


def governor_for(auto: AutoSplit, total: int, least: int) -> SplitGovernor:
    """``auto``'s governor for a ``total``-byte file never cut under ``least`` bytes."""
    limit = split_count(total, auto.max_connections, least)
    return SplitGovernor(auto, max_connections=limit, total=total)


async def pour_watching(
    response: Response, sink: BodySink, governor: SplitGovernor, clock: Clock
) -> bool:
    """Pour the body into ``sink`` while ``governor`` reads the rate.

    Returns:
        ``True`` when a trial of more connections is due and the body was left after the
        last byte written (the governor is in its trial); ``False`` when it all came.
    """
    watching = asyncio.create_task(_watch(sink, governor, clock))
    try:
        await response.pour(sink)
    except PourPaused:
        return True
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
        sink.pause_requested = False
    return False


async def _watch(sink: BodySink, governor: SplitGovernor, clock: Clock) -> None:
    while not governor.settled:
        await asyncio.sleep(GOVERN_SECONDS)  # pacing the readings; the clock measures
        if governor.observe(clock.elapsed(), sink.part.written) is Verdict.ADD:
            sink.pause_requested = True  # the copy stops after its next write
            return


async def begin_ranges(part: PartFile) -> None:
    """Go on as a segmented download keeping every byte written: one range, the whole file,
    its first :attr:`~uidt.transfers.partfile.PartFile.written` bytes done (see the module
    docstring for the order of the steps)."""
    await part.aclose(commit=True)
    total, done = part.total, part.written
    assert total is not None
    await asyncio.to_thread(part.save_segments, [[0, done, total]])
    part.begin_segments([Segment(0, total, done)], keep=done)
