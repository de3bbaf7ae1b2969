"""The clock protocol and the UTC/millisecond helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from uidt.clock import Clock, SystemClock, millis_from_utc, utc_from_millis


def test_system_clock_satisfies_the_protocol() -> None:
    assert isinstance(SystemClock(), Clock)


def test_system_clock_elapsed_is_monotonic_milliseconds() -> None:
    clock = SystemClock()
    readings = [clock.elapsed() for _ in range(100)]
    assert all(isinstance(r, int) for r in readings)
    assert readings == sorted(readings)


def test_system_clock_utc_is_aware_and_current() -> None:
    now = SystemClock().utc()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=1)


def test_utc_from_millis() -> None:
    assert utc_from_millis(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert utc_from_millis(1_700_000_000_123) == datetime(
        2023, 11, 14, 22, 13, 20, 123_000, tzinfo=UTC
    )


def test_millis_round_trip() -> None:
    for millis in (0, 1, 999, 1_700_000_000_123, 4_102_444_800_000):
        assert millis_from_utc(utc_from_millis(millis)) == millis


def test_millis_from_other_timezone() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert millis_from_utc(datetime(1970, 1, 1, 2, tzinfo=plus_two)) == 0


def test_a_fake_clock_fits_the_protocol() -> None:
    class Frozen:
        def elapsed(self) -> int:
            return 42

        def utc(self) -> datetime:
            return datetime(2024, 1, 1, tzinfo=UTC)

    assert isinstance(Frozen(), Clock)
