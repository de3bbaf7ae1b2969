"""Which range a free connection of a segmented download takes: :func:`next_range` (pure).

The first range nobody fetches, in file order; when there is none, the far half of the busy
range that needs the longest at its own rate, if it still needs at least a second
(:func:`~uidt.transfers.autosplit.worth_resplitting`) and both halves are at least the least
range (:func:`~uidt.transfers.autosplit.resplit_point`): that range is cut in place
(:func:`~uidt.transfers.segments.cut_segment`). While a busy range's rate is not measured yet
the answer is :data:`WAIT` (look again soon), and ``None`` means there is nothing left to take.
``--split auto`` growing asks with ``grow``: then the range with most left is cut, whatever
its rate.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence

from uidt.transfers.autosplit import resplit_point, worth_resplitting
from uidt.transfers.segments import Segment, cut_segment


class Wait(enum.Enum):
    WAIT = "wait"


#: No range to take yet: a busy one's rate is not known.
WAIT = Wait.WAIT


def next_range(
    segments: list[Segment],
    busy: Sequence[tuple[Segment, float | None]],
    *,
    least: int,
    grow: bool = False,
    reading: Mapping[int, int] | None = None,
) -> Segment | Wait | None:
    """The range a free connection takes (see the module docstring).

    Args:
        segments: The download's ranges, in file order (a cut inserts into it).
        busy: Each range a connection fetches now, with that connection's rate on it
            (bytes/s; ``None``: not measured yet).
        least: No part of a cut is smaller (``min_split_size``).
        grow: Cut the range with most left whatever its rate (``--split auto`` adding).
        reading: Where the read in flight of a busy range ends, by ``id`` of the range: a
            cut never falls before it (those bytes are already asked for).
    """
    taken = {id(segment) for segment, _ in busy}
    for segment in segments:
        if not segment.complete and id(segment) not in taken:
            return segment
    waiting = False
    candidates: list[tuple[float, Segment]] = []
    for segment, rate in busy:
        if segment.complete:
            continue
        if grow:
            candidates.append((segment.left, segment))
        elif rate is None:
            waiting = True
        elif worth_resplitting(segment.left, rate):
            candidates.append((segment.left / max(rate, 1.0), segment))
    for _, segment in sorted(candidates, key=lambda pair: pair[0], reverse=True):
        asked = max(segment.done, (reading or {}).get(id(segment), 0))
        cut = resplit_point(asked, segment.end, least)
        if cut is not None:
            return cut_segment(segments, segment, cut)
    return WAIT if waiting else None
