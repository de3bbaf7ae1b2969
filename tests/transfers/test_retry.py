"""RetryBudget: every kind of failure is bounded, progress earns a fresh count."""

from __future__ import annotations

import pytest

from uidt.errors import InconsistentServerError, TransferError
from uidt.testing.clock import FakeClock
from uidt.transfers.notices import Notice
from uidt.transfers.retry import RetryBudget, RetryPolicy
from uidt.transfers.speedfloor import SpeedFloor, TooSlowError

URL = "http://127.0.0.1/f"


def test_progress_starts_the_count_again() -> None:
    budget = RetryBudget(URL, RetryPolicy(retries=2))
    assert budget.failed(ConnectionResetError(), moved=False) == 0.5
    assert budget.failed(ConnectionResetError(), moved=False) == 1.0
    for _ in range(10):
        assert budget.failed(ConnectionResetError(), moved=True) == 0.5
    budget.failed(ConnectionResetError(), moved=False)
    with pytest.raises(TransferError, match="gave up after repeated errors"):
        budget.failed(ConnectionResetError(), moved=False)


def test_too_slow_attempts_are_not_progress() -> None:
    budget = RetryBudget(URL, RetryPolicy(retries=2))
    slow = TooSlowError(SpeedFloor(1024, 60, FakeClock()))
    budget.failed(slow, moved=True)
    budget.failed(slow, moved=True)
    with pytest.raises(TransferError, match=r"stayed below 1\.0 KiB/s for 60 s, 3 times"):
        budget.failed(slow, moved=True)


def test_restarts_are_bounded_and_back_off_after_the_first() -> None:
    budget = RetryBudget(URL, RetryPolicy(retries=3))
    assert budget.restarted(Notice.RESTARTED_SHORT_BODY) == 0.0
    assert budget.restarted(Notice.RESTARTED_SHORT_BODY) == 0.5
    budget.failed(ConnectionResetError(), moved=True)  # progress does not refill restarts
    assert budget.restarted(Notice.RESTARTED_SHORT_BODY) == 1.0
    with pytest.raises(InconsistentServerError, match="fewer bytes than it announced, 4 times"):
        budget.restarted(Notice.RESTARTED_SHORT_BODY)
