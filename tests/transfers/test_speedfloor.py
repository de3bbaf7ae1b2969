"""The lowest-speed rule on a fake clock."""

from __future__ import annotations

import pytest

from uidt.errors import SettingsError
from uidt.testing.clock import FakeClock
from uidt.transfers.speedfloor import SpeedFloor, TooSlowError


def test_each_window_must_average_the_floor() -> None:
    clock = FakeClock()
    floor = SpeedFloor(1000, 10, clock)
    floor.restart(0)
    clock.advance(9_999)
    floor.check(0)  # the window is not over yet
    clock.advance(1)
    floor.check(10_000)  # exactly 1000 B/s: fine, and a new window starts
    clock.advance(10_000)
    with pytest.raises(TooSlowError, match=r"below 1000 B/s for 10 s"):
        floor.check(19_999)


def test_restart_starts_a_fresh_window() -> None:
    clock = FakeClock()
    floor = SpeedFloor(1000, 1, clock)
    floor.restart(0)
    clock.advance(5_000)
    floor.restart(0)  # e.g. a new attempt: the wait for its answer does not count
    clock.advance(500)
    floor.check(0)


def test_zero_is_off() -> None:
    clock = FakeClock()
    floor = SpeedFloor(0, 0, clock)
    floor.restart(0)
    clock.advance(10**9)
    floor.check(0)


def test_too_slow_is_retried_like_a_timeout() -> None:
    assert issubclass(TooSlowError, TimeoutError)


@pytest.mark.parametrize(("speed", "seconds"), [(-1, 1.0), (10, 0.0), (10, float("nan"))])
def test_bad_settings(speed: int, seconds: float) -> None:
    with pytest.raises(SettingsError, match="lowest_speed"):
        SpeedFloor(speed, seconds, FakeClock())


def test_our_own_rate_limit_never_trips_the_floor() -> None:
    """Limited to 600 B/s, a transfer at its limit is not "too slow" for a 1 KiB/s floor."""
    clock = FakeClock()
    floor = SpeedFloor(1024, 10, clock)
    floor.restart(0)
    clock.advance(10_000)
    floor.check(6_000, 600)  # the floor in force is half the limit: 300 B/s
    clock.advance(10_000)
    with pytest.raises(TooSlowError):
        floor.check(8_000, 600)  # 200 B/s: stuck even for the limit
