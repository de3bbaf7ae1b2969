"""Progress, rate and ETA of a transfer, from byte counts and an injected clock.

The engine calls :meth:`ProgressMeter.update` after every chunk; the meter returns a
:class:`Progress` only when a report is due (at most every ``interval_ms``), so callbacks run a
few times a second however small the chunks are. The rate is the slope over a sliding window of
recent samples, which follows speed changes within a few seconds and ignores one slow chunk.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from uidt.clock import Clock


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress report.

    Attributes:
        done: Bytes of the file that are in place (for a resume, counted from byte 0).
        total: Expected size in bytes, or ``None`` if the server did not say.
        rate: Bytes per second over the recent window (0.0 until there is a window).
        eta: Seconds left at the current rate, or ``None`` if unknown.
    """

    done: int
    total: int | None
    rate: float
    eta: float | None

    @property
    def fraction(self) -> float | None:
        """``done / total`` in ``[0, 1]``, or ``None`` when the total is unknown."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


class ProgressMeter:
    """Turns byte counts into throttled :class:`Progress` reports.

    Args:
        clock: Time source (``elapsed()`` milliseconds).
        total: Expected size, if known.
        interval_ms: Minimum time between two reports.
        window_ms: How far back the rate looks.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        total: int | None = None,
        interval_ms: int = 250,
        window_ms: int = 5000,
    ) -> None:
        self._clock = clock
        self.total = total
        self._interval_ms = interval_ms
        self._window_ms = window_ms
        self._samples: deque[tuple[int, int]] = deque()
        self._last_report_ms: int | None = None
        self.done = 0
        #: The count the last report returned said (``None``: none yet).
        self.reported: int | None = None

    def restart(self, done: int) -> None:
        """Forget the rate history (a new connection, a restart from zero) and set ``done``."""
        self._samples.clear()
        self.done = done
        self._samples.append((self._clock.elapsed(), done))

    def update(self, done: int) -> Progress | None:
        """Record that ``done`` bytes are in place; return a report if one is due."""
        now = self._clock.elapsed()
        self.done = done
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._window_ms:
            self._samples.popleft()
        if self._last_report_ms is not None and now - self._last_report_ms < self._interval_ms:
            return None
        self._last_report_ms = now
        self.reported = done
        return self.snapshot()

    def final(self, done: int) -> Progress | None:
        """The report that ends a transfer at ``done``, due or not; ``None`` when the last
        report already said ``done`` (the run's owner is not told the same count twice: each
        report is a message to the daemon, a flush and a store commit there)."""
        if self.reported == done:
            self.update(done)  # the sample still counts for the rate
            return None
        report = self.update(done) or self.snapshot()
        self.reported = done
        return report

    def snapshot(self) -> Progress:
        """A report now, whether or not one is due."""
        rate = self.rate()
        eta: float | None = None
        if self.total is not None and rate > 0:
            eta = max(0, self.total - self.done) / rate
        elif self.total is not None and self.done >= self.total:
            eta = 0.0
        return Progress(self.done, self.total, rate, eta)

    def rate(self) -> float:
        """Bytes per second over the window (0.0 with less than a millisecond of history)."""
        if len(self._samples) < 2:
            return 0.0
        first_ms, first_done = self._samples[0]
        last_ms, last_done = self._samples[-1]
        span = last_ms - first_ms
        if span <= 0:
            return 0.0
        return max(0, last_done - first_done) * 1000.0 / span
