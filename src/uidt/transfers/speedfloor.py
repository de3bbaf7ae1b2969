"""The lowest-speed rule: give up on an attempt whose bytes trickle in too slowly.

The read timeout catches a server that goes silent; it cannot catch one that sends a byte every
half second. :class:`SpeedFloor` is the rule curl calls ``--speed-limit``/``--speed-time`` and
aria2 ``--lowest-speed-limit``: when the bytes received over a whole window of ``seconds`` average
less than ``bytes_per_second``, the attempt ends with :class:`TooSlowError`, a transient error
the engine retries (bounded, like every retry). Windows follow one another (each starts where
the last ended), so the rule costs one clock reading per check.

uidt's default (:data:`LOWEST_SPEED`, :data:`LOWEST_SPEED_SECONDS`) is 1 KiB/s over 60 s: far
below any link worth using (a 2G data link moves several KiB/s), so it only ends transfers that
are stuck in all but name, and over the same 60 s as the read timeout.

A rate limit of uidt's own (``--limit-rate``, the share of ``bandwidth_limit``) never trips the
rule: while one is set, the floor in force is at most half of it.
"""

from __future__ import annotations

from uidt.clock import Clock
from uidt.errors import SettingsError
from uidt.units import human_bytes

#: Default floor in bytes per second (0 turns the rule off).
LOWEST_SPEED = 1024
#: Default window in seconds.
LOWEST_SPEED_SECONDS = 60.0


class TooSlowError(TimeoutError):
    """An attempt stayed below the lowest speed for a whole window (retried like a timeout)."""

    def __init__(self, floor: SpeedFloor) -> None:
        super().__init__(floor.describe())


class SpeedFloor:
    """Checks that each window of ``seconds`` brings at least ``bytes_per_second`` on average.

    Args:
        bytes_per_second: The floor; 0 turns the rule off.
        seconds: The window the average is taken over.
        clock: Time source (``elapsed()`` in milliseconds).

    Raises:
        SettingsError: A negative floor, or a window that is not positive.
    """

    def __init__(self, bytes_per_second: int, seconds: float, clock: Clock) -> None:
        if bytes_per_second < 0:
            raise SettingsError(f"lowest_speed must be 0 (off) or more, not {bytes_per_second}")
        if bytes_per_second and not seconds > 0:
            raise SettingsError(f"lowest_speed_seconds must be more than 0, not {seconds}")
        self.bytes_per_second = bytes_per_second
        self.seconds = seconds
        self.clock = clock
        self._window_ms = max(1, round(seconds * 1000))
        self._started_ms = 0
        self._started_at = 0

    def describe(self) -> str:
        """The rule in words, e.g. ``below 1.0 KiB/s for 60 s``."""
        return f"below {human_bytes(self.bytes_per_second)}/s for {self.seconds:g} s"

    def restart(self, done: int) -> None:
        """Start a window now, at ``done`` bytes (call when a body starts to arrive)."""
        self._started_ms = self.clock.elapsed()
        self._started_at = done

    def check(self, done: int, limit: int | None = None) -> None:
        """Note that ``done`` bytes have arrived so far (``limit``: uidt's own rate limit).

        Raises:
            TooSlowError: The window that just ended brought too few bytes.
        """
        floor = self.bytes_per_second if limit is None else min(self.bytes_per_second, limit // 2)
        if not floor:
            return
        now = self.clock.elapsed()
        spent = now - self._started_ms
        if spent < self._window_ms:
            return
        if (done - self._started_at) * 1000 < floor * spent:
            raise TooSlowError(self)
        self._started_ms, self._started_at = now, done
