"""FakeClock moves only when told."""

from __future__ import annotations

from datetime import timedelta

import pytest

from uidt.clock import Clock
from uidt.testing import FakeClock


def test_advance_and_set_move_both_readings() -> None:
    clock = FakeClock(elapsed=0)
    assert isinstance(clock, Clock)
    start = clock.utc()
    clock.advance(1500)
    assert clock.elapsed() == 1500
    assert clock.utc() - start == timedelta(milliseconds=1500)
    clock.set(10_000)
    assert clock.elapsed() == 10_000
    assert clock.utc() - start == timedelta(seconds=10)


def test_cannot_go_backwards() -> None:
    clock = FakeClock(elapsed=100)
    with pytest.raises(ValueError, match="backwards"):
        clock.set(50)
