"""How one file is split into byte ranges fetched over several connections, and how the
checkpoint names them: :class:`Segment`, :func:`split_count`, :func:`plan_segments`.

The rule is aria2's (``--split``/``--min-split-size``): a file is fetched over at most ``split``
connections, and never split into ranges smaller than ``min_split_size``, so a file under twice
that size always takes one connection. Each :class:`Segment` is ``[start, end)`` with ``done``,
the end of the bytes of it already in the part file; the ranges are contiguous and cover the
whole file. A segmented download's checkpoint (kind :data:`SEGMENTS_KIND`) lists them as
``[start, done, end]`` triples; :func:`load_segments` accepts one only if the triples are sound
and cover exactly the part file, so a hole can never be read as data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from uidt.errors import InvalidJobError

#: The ``kind`` of a segmented download's checkpoint (a single-connection one is ``download``).
SEGMENTS_KIND = "download-segments"
MiB = 1024 * 1024
#: aria2's default ``--min-split-size``: no range is smaller than this (20 MiB).
MIN_SPLIT_SIZE = 20 * MiB
#: The most connections ``--split`` may ask for (aria2's ``-x`` allows 16 per server).
MAX_SPLIT = 16
#: ``split`` of a download that decides its connections by measuring (``--split auto``, see
#: :mod:`uidt.transfers.autosplit`).
AUTO_SPLIT: Literal["auto"] = "auto"
#: A connection count (1 to :data:`MAX_SPLIT`) or :data:`AUTO_SPLIT`.
Split: TypeAlias = int | Literal["auto"]


@dataclass(slots=True)
class Segment:
    """Bytes ``[start, end)`` of the file; ``[start, done)`` of them are in the part file."""

    start: int
    end: int
    done: int

    @property
    def complete(self) -> bool:
        return self.done >= self.end

    @property
    def present(self) -> int:
        """Bytes of this range already in the part file (a copying thread may have run past
        an end that was moved back while it wrote: those bytes belong to the next range)."""
        return min(self.done, self.end) - self.start

    @property
    def left(self) -> int:
        """Bytes of this range still missing."""
        return max(0, self.end - self.done)


def check_split(value: object, where: str) -> Split:
    """``value`` as a connection count (1 to :data:`MAX_SPLIT`) or ``"auto"``; else an error
    naming ``where`` (an input-file line, a job's extras)."""
    text = str(value).strip()
    if isinstance(value, str) and text.lower() == AUTO_SPLIT:
        return AUTO_SPLIT
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= MAX_SPLIT:
        raise InvalidJobError(
            f"{where}: split is 1 to {MAX_SPLIT} connections or auto, not {value!r}"
        )
    return int(text)


def split_count(total: int, split: int, min_split_size: int) -> int:
    """How many connections a ``total``-byte file takes (aria2's rule: 1 when under 2 ranges)."""
    if split <= 1 or min_split_size < 1 or total < 2 * min_split_size:
        return 1
    return max(1, min(split, MAX_SPLIT, total // min_split_size))


def plan_segments(total: int, count: int) -> list[Segment]:
    """``count`` ranges of (nearly) equal size covering ``total`` bytes, none done yet."""
    bounds = [total * i // count for i in range(count + 1)]
    return [Segment(bounds[i], bounds[i + 1], bounds[i]) for i in range(count)]


def present(segments: list[Segment]) -> int:
    """Bytes of the file already in the part file, over all ranges."""
    return sum(segment.present for segment in segments)


def segments_state(segments: list[Segment]) -> list[list[int]]:
    """The checkpoint's ``segments`` field: ``[start, done, end]`` per range."""
    return [[s.start, min(s.done, s.end), s.end] for s in segments]


def cut_segment(segments: list[Segment], segment: Segment, cut: int) -> Segment:
    """Split ``segment`` (one of ``segments``) at ``cut``, past its ``done``: it keeps
    ``[start, cut)``, and the new range ``[cut, end)``, none of it done yet, follows it in
    ``segments`` (which stay contiguous, in file order) and is returned."""
    assert segment.done < cut < segment.end
    rest = Segment(cut, segment.end, cut)
    segment.end = cut
    index = next(i for i, s in enumerate(segments) if s is segment)
    segments.insert(index + 1, rest)
    return rest


def load_segments(state: Mapping[str, Any], size: int) -> list[Segment] | None:
    """The ranges a segmented checkpoint names, or ``None`` when it is not sound.

    Sound: a list of ``[start, done, end]`` integer triples, ``start <= done <= end``, each
    starting where the one before ended, the first at 0 and the last at ``total``, which is the
    part file's ``size``.
    """
    total = state.get("total")
    triples = state.get("segments")
    if not isinstance(total, int) or isinstance(total, bool) or total != size or total < 1:
        return None
    if not isinstance(triples, list) or not triples:
        return None
    segments: list[Segment] = []
    expected = 0
    for triple in triples:
        if (
            not isinstance(triple, list)
            or len(triple) != 3
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in triple)
        ):
            return None
        start, done, end = triple
        if start != expected or not start <= done <= end or start == end:
            return None
        segments.append(Segment(start, end, done))
        expected = end
    return segments if expected == total else None
