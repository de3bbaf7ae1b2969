"""``FakeClock``: time that only moves when a test says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)


class FakeClock:
    """A manual :class:`uidt.clock.Clock`. ``elapsed()`` and ``utc()`` advance together.

    Args:
        elapsed: the starting monotonic reading in milliseconds.
        utc: the wall-clock time at that reading.
    """

    def __init__(self, elapsed: int = 1_000_000, utc: datetime = _DEFAULT_START) -> None:
        self._elapsed = elapsed
        self._utc = utc

    def elapsed(self) -> int:
        return self._elapsed

    def utc(self) -> datetime:
        return self._utc

    def advance(self, ms: int) -> None:
        """Move both readings forward by ``ms`` milliseconds."""
        if ms < 0:
            raise ValueError("a clock cannot go backwards")
        self._elapsed += ms
        self._utc += timedelta(milliseconds=ms)

    def set(self, elapsed: int) -> None:
        """Jump to an elapsed reading (not earlier than now); wall time moves by the same amount."""
        self.advance(elapsed - self._elapsed)
