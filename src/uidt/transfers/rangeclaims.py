"""Moving the ends of ranges while their connections copy: :func:`claim_range` (a free
connection's next range, maybe cut from a busy one) and :func:`give_back` (a range whose
server ignored ``Range`` goes back to the connection before it).

A busy range's copying thread chooses each read's size under the connection's
:attr:`~uidt.transfers.rangesink.RangeSink.reading_lock`, never past the range's end, and
notes where the read ends (:attr:`~uidt.transfers.rangesink.RangeSink.reading_to`); both
functions hold the busy connections' locks while they move an end, so a cut falls past the
read in flight (no byte is fetched by two connections) and an end moved forward is seen by
the next read or, once the range was found complete, not at all (the range is then complete
for good and the given-back one is not merged).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence

from uidt.transfers.rangepick import Wait, next_range
from uidt.transfers.rangesink import RangeSink
from uidt.transfers.segments import Segment

_log = logging.getLogger(__name__)


class RangesRefused(Exception):
    """A range's answer ignored ``Range``; its range went back to the connection before it."""


@contextlib.contextmanager
def _holding(sinks: Sequence[RangeSink]) -> Iterator[None]:
    with contextlib.ExitStack() as held:
        for sink in sinks:
            held.enter_context(sink.reading_lock)
        yield


def claim_range(
    segments: list[Segment], sinks: Sequence[RangeSink], *, least: int, grow: bool, url: str = ""
) -> Segment | Wait | None:
    """The range a free connection takes (:func:`~uidt.transfers.rangepick.next_range`, which
    may cut a busy one past its read in flight; a cut is logged with ``url``)."""
    busy = [sink for sink in sinks if sink.busy]
    count = len(segments)
    with _holding(busy):
        ranges = [(sink.segment, sink.rate()) for sink in busy]
        reading = {id(sink.segment): sink.reading_to for sink in busy}
        picked = next_range(segments, ranges, least=least, grow=grow, reading=reading)
    if isinstance(picked, Segment) and len(segments) > count:
        _log.info("%s: bytes %d- of a range go to another connection", url, picked.start)
    return picked


def give_back(segments: list[Segment], sinks: Sequence[RangeSink], dropped: RangeSink) -> bool:
    """Merge ``dropped``'s range, none of it fetched, into the range before it, when that
    range's connection is still copying an answer that runs through it (``--split auto``'s
    first answer, to ``bytes=0-``): that connection then goes on to its end. ``False`` (no
    change) otherwise."""
    segment = dropped.segment
    index = next((i for i, s in enumerate(segments) if s is segment), 0)
    if index == 0 or segment.done != segment.start:
        return False
    before = segments[index - 1]
    owner = next((s for s in sinks if s.busy and s.segment is before), None)
    if owner is None or owner.body_end < segment.end:
        return False
    with owner.reading_lock:
        if before.complete:
            return False  # its copy already stopped at the old end
        before.end = segment.end
    del segments[index]
    return True
