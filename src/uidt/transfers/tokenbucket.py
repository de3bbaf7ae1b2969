"""A token bucket: how long a reader must pause so its bytes average a given rate.

The bucket fills at ``rate`` bytes per second up to a small ``burst`` (a tenth of a second's
worth). A reader takes the bytes it has just moved; the bucket may go into debt, and the reader
pauses until the debt is paid (:meth:`TokenBucket.take` returns how long). Pure arithmetic on an
injected :class:`~uidt.clock.Clock`: the waiting itself is :mod:`uidt.transfers.throttle`'s.
"""

from __future__ import annotations

from uidt.clock import Clock

#: Seconds of transfer the bucket lets pass at once after a pause.
BURST_SECONDS = 0.1
#: Read at most this many seconds' worth of bytes between two pauses while limited.
CHUNK_SECONDS = 0.1
#: The smallest read while limited (fewer, larger reads at very low rates cost nothing).
MIN_CHUNK_BYTES = 4096


def burst_for(rate: int) -> int:
    """The bucket's capacity at ``rate`` bytes per second."""
    return max(1, int(rate * BURST_SECONDS))


def chunk_for(rate: int | None, unlimited: int) -> int:
    """How many bytes a reader should ask for at once: ``unlimited`` without a limit."""
    if rate is None:
        return unlimited
    return max(MIN_CHUNK_BYTES, min(unlimited, int(rate * CHUNK_SECONDS)))


class TokenBucket:
    """Tokens are bytes; ``rate`` ``None`` means no limit (nothing is counted).

    Args:
        rate: Bytes per second, or ``None``.
        clock: Where the time comes from (milliseconds, ``elapsed()``).
    """

    def __init__(self, rate: int | None, clock: Clock) -> None:
        if rate is not None and rate < 1:
            raise ValueError(f"a rate is at least 1 byte per second, not {rate}")
        self._clock = clock
        self._rate = rate
        self._tokens = float(burst_for(rate)) if rate is not None else 0.0
        self._last = clock.elapsed()
        #: Bytes taken since the bucket was made (its accounting, for tests and reports).
        self.taken = 0

    @property
    def rate(self) -> int | None:
        return self._rate

    def _refill(self) -> None:
        now = self._clock.elapsed()
        if self._rate is not None and now > self._last:
            self._tokens = min(
                float(burst_for(self._rate)), self._tokens + (now - self._last) * self._rate / 1000
            )
        self._last = max(self._last, now)

    def set_rate(self, rate: int | None) -> None:
        """Change the rate from now on; bytes already taken keep the debt they made."""
        if rate is not None and rate < 1:
            raise ValueError(f"a rate is at least 1 byte per second, not {rate}")
        self._refill()
        if rate is None:
            self._tokens = 0.0
        elif self._rate is None:
            self._tokens = float(burst_for(rate))
        else:
            self._tokens = min(self._tokens, float(burst_for(rate)))
        self._rate = rate

    def take(self, count: int) -> float:
        """Count ``count`` bytes just moved; the seconds to pause before moving more."""
        self.taken += count
        if self._rate is None:
            return 0.0
        self._refill()
        self._tokens -= count
        return self.pause()

    def pause(self) -> float:
        """The seconds until the debt is paid (0 when there is none)."""
        if self._rate is None:
            return 0.0
        self._refill()
        return max(0.0, -self._tokens / self._rate)
