"""ProgressMeter with a fake clock."""

from __future__ import annotations

import pytest

from uidt.testing.clock import FakeClock
from uidt.transfers.progress import Progress, ProgressMeter


def test_reports_are_throttled() -> None:
    clock = FakeClock()
    meter = ProgressMeter(clock, total=1000, interval_ms=250)
    assert meter.update(10) is not None
    clock.advance(100)
    assert meter.update(20) is None
    clock.advance(150)
    report = meter.update(30)
    assert report is not None
    assert report.done == 30


def test_rate_and_eta_from_window() -> None:
    clock = FakeClock()
    meter = ProgressMeter(clock, total=10_000, interval_ms=0, window_ms=2000)
    meter.restart(0)
    for _ in range(10):
        clock.advance(500)
        report = meter.update(meter.done + 500)
    assert report is not None
    assert report.rate == pytest.approx(1000.0)
    assert report.eta == pytest.approx(5.0)
    assert report.fraction == pytest.approx(0.5)


def test_rate_follows_a_slowdown() -> None:
    clock = FakeClock()
    meter = ProgressMeter(clock, total=None, interval_ms=0, window_ms=1000)
    meter.restart(0)
    for _ in range(10):
        clock.advance(100)
        meter.update(meter.done + 1000)  # 10 kB/s
    for _ in range(20):
        clock.advance(100)
        meter.update(meter.done + 100)  # 1 kB/s
    assert meter.rate() == pytest.approx(1000.0, rel=0.15)
    snap = meter.snapshot()
    assert snap.eta is None
    assert snap.fraction is None


def test_no_history_means_no_rate() -> None:
    clock = FakeClock()
    meter = ProgressMeter(clock, total=100)
    assert meter.rate() == 0.0
    meter.update(100)
    assert meter.snapshot() == Progress(100, 100, 0.0, 0.0)


def test_the_final_report_comes_even_when_no_report_is_due() -> None:
    clock = FakeClock()
    meter = ProgressMeter(clock, total=1000, interval_ms=250)
    assert meter.update(10) is not None
    clock.advance(100)
    assert meter.update(900) is None  # throttled: the last report said 10
    final = meter.final(1000)
    assert final is not None
    assert final.done == 1000


def test_no_final_report_when_the_last_report_said_it_already() -> None:
    clock = FakeClock()
    meter = ProgressMeter(clock, total=1000, interval_ms=250)
    assert meter.update(1000) is not None
    clock.advance(10)
    assert meter.final(1000) is None
    assert meter.done == 1000


def test_a_final_report_after_a_restart_below_the_last_report() -> None:
    clock = FakeClock()
    meter = ProgressMeter(clock, total=1000, interval_ms=250)
    assert meter.update(600) is not None
    meter.restart(0)  # a restart from zero, then the whole file within one interval
    clock.advance(100)
    assert meter.update(1000) is None
    final = meter.final(1000)
    assert final is not None
    assert final.done == 1000
