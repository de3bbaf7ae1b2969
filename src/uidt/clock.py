"""Time, injected.

Nothing in uidt reads the real time except :class:`SystemClock`. The scheduler core and the
services take a :class:`Clock`; tests use :class:`uidt.testing.FakeClock`.

Two readings, as Android separates them: ``elapsed()`` is monotonic milliseconds (scheduling,
timeouts, backoff), ``utc()`` is the wall clock (persistence and display).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """A source of time."""

    def elapsed(self) -> int:
        """Monotonic milliseconds since an arbitrary origin."""
        ...

    def utc(self) -> datetime:
        """The wall clock, timezone-aware (UTC)."""
        ...


class SystemClock:
    """The real clock."""

    def elapsed(self) -> int:
        return time.monotonic_ns() // 1_000_000

    def utc(self) -> datetime:
        return datetime.now(UTC)


def utc_from_millis(millis: int) -> datetime:
    """A UTC datetime from milliseconds since the Unix epoch."""
    return datetime.fromtimestamp(millis / 1000, UTC)


def millis_from_utc(when: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime."""
    return int(when.timestamp() * 1000)
