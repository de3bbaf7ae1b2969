"""The token bucket's accounting, on a fake clock."""

from __future__ import annotations

import pytest

from uidt.testing.clock import FakeClock
from uidt.transfers.tokenbucket import MIN_CHUNK_BYTES, TokenBucket, burst_for, chunk_for


def test_no_limit_never_pauses_but_counts() -> None:
    bucket = TokenBucket(None, FakeClock())
    assert bucket.take(10**9) == 0.0
    assert bucket.pause() == 0.0
    assert bucket.taken == 10**9


def test_a_full_bucket_lets_a_small_burst_through() -> None:
    bucket = TokenBucket(1000, FakeClock())
    assert burst_for(1000) == 100
    assert bucket.take(100) == 0.0
    # the next byte waits a thousandth of a second
    assert bucket.take(1) == pytest.approx(0.001)


def test_the_debt_of_a_large_read_is_paid_in_time() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1000, clock)
    assert bucket.take(1100) == pytest.approx(1.0)  # 100 of burst, 1000 of debt
    clock.advance(400)
    assert bucket.pause() == pytest.approx(0.6)
    clock.advance(600)
    assert bucket.pause() == 0.0


def test_the_average_over_many_reads_is_the_rate() -> None:
    """A reader that always pauses as told moves rate times time bytes, plus one burst."""
    clock = FakeClock()
    rate = 5 * 1024 * 1024
    bucket = TokenBucket(rate, clock)
    start = clock.elapsed()
    moved = 0
    while moved < 100 * 1024 * 1024:
        chunk = chunk_for(rate, 1024 * 1024)
        moved += chunk
        clock.advance(round(bucket.take(chunk) * 1000))
    seconds = (clock.elapsed() - start) / 1000
    assert seconds == pytest.approx(20.0, rel=0.01)


def test_idle_time_is_not_saved_up_beyond_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1000, clock)
    clock.advance(60_000)
    assert bucket.take(100) == 0.0
    assert bucket.take(1000) == pytest.approx(1.0)


def test_a_lower_rate_stretches_the_debt_and_off_clears_it() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1000, clock)
    bucket.take(1100)
    bucket.set_rate(500)
    assert bucket.pause() == pytest.approx(2.0)
    bucket.set_rate(4000)
    assert bucket.pause() == pytest.approx(0.25)
    bucket.set_rate(None)
    assert bucket.pause() == 0.0
    bucket.set_rate(1000)  # back to limited: starts with a full (small) burst
    assert bucket.take(100) == 0.0


def test_the_rate_is_positive() -> None:
    with pytest.raises(ValueError, match="at least 1 byte"):
        TokenBucket(0, FakeClock())
    with pytest.raises(ValueError, match="at least 1 byte"):
        TokenBucket(1, FakeClock()).set_rate(-5)


def test_reads_are_bounded_while_limited() -> None:
    assert chunk_for(None, 1 << 20) == 1 << 20
    assert chunk_for(5 * 1024 * 1024, 1 << 20) == 5 * 1024 * 1024 // 10
    assert chunk_for(100, 1 << 20) == MIN_CHUNK_BYTES
    assert chunk_for(1 << 30, 1 << 20) == 1 << 20
