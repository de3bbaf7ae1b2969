from __future__ import annotations

from uidt.daemon.bandwidth import BandwidthMeter


def test_a_rate_comes_once_a_window_is_covered() -> None:
    meter = BandwidthMeter(min_window_ms=5_000)
    assert meter.report(1, 0, 0, 0) is None
    assert meter.report(1, 4_000, 400_000, 0) is None
    # 1,000,000 bytes in 5 s = 200,000 B/s = 1600 kbit/s
    assert meter.report(1, 5_000, 1_000_000, 0) == (1600, 0)
    # the next window starts where the last one ended
    assert meter.report(1, 10_000, 1_500_000, 50_000) == (800, 80)


def test_a_restarted_run_starts_a_new_window() -> None:
    meter = BandwidthMeter(min_window_ms=1_000)
    meter.report(7, 0, 5_000, 0)
    assert meter.report(7, 2_000, 10, 0) is None  # totals went down: the run restarted
    assert meter.report(7, 3_000, 1_010, 0) == (8, 0)
    meter.forget(7)
    assert meter.report(7, 9_000, 5_000, 0) is None
