"""``ByteSamples``: a job's bytes done over time, a few points, bounded (its timeline's curve).

Apps report their transferred bytes as often as they like (the built-in transfers after every
chunk). Keeping each report would grow without bound; keeping the last few would lose the start
of a long run. So a report closer than the current spacing to the point before the last one moves
the last point (the newest value is always there), any other adds a point, and when
:data:`MAX_SAMPLES` are reached every other point goes and the spacing doubles: a run of a minute
and one of a day both keep their whole shape, the longer one at a coarser grain. Kept in memory
with the job (not persisted); times are wall-clock milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The most points kept per job.
MAX_SAMPLES = 64
#: The spacing of points at first (it doubles each time the samples are thinned).
FIRST_GAP_MS = 5_000


@dataclass
class ByteSamples:
    """``(utc_ms, bytes done)`` points, oldest first (see the module doc)."""

    points: list[tuple[int, int]] = field(default_factory=list)
    gap_ms: int = FIRST_GAP_MS

    def add(self, utc_ms: int, done: int) -> None:
        """Note that ``done`` bytes were reported at ``utc_ms``."""
        points = self.points
        if len(points) >= 2 and utc_ms - points[-2][0] < self.gap_ms:
            points[-1] = (utc_ms, done)
            return
        points.append((utc_ms, done))
        if len(points) > MAX_SAMPLES:
            newest = points[-1]
            self.points = [*points[:-1:2], newest]
            self.gap_ms *= 2

    def to_json(self) -> list[list[int]]:
        """``[[utc_ms, bytes], …]`` (the API's and the ended record's form)."""
        return [[t, done] for t, done in self.points]
