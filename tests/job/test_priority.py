"""Priority and backoff constants equal Android's (docs/android-semantics.md#job-validation)."""

from __future__ import annotations

from uidt.job import priority
from uidt.job.priority import BackoffPolicy, Priority


def test_priority_numbers() -> None:
    assert {p.name: int(p) for p in Priority} == {
        "MIN": 100,
        "LOW": 200,
        "DEFAULT": 300,
        "HIGH": 400,
        "MAX": 500,
    }
    assert sorted(Priority) == [
        Priority.MIN,
        Priority.LOW,
        Priority.DEFAULT,
        Priority.HIGH,
        Priority.MAX,
    ]


def test_backoff_policy_numbers() -> None:
    assert {p.name: int(p) for p in BackoffPolicy} == {"LINEAR": 0, "EXPONENTIAL": 1}


def test_time_constants() -> None:
    assert priority.DEFAULT_INITIAL_BACKOFF_MILLIS == 30_000
    assert priority.MIN_BACKOFF_MILLIS == 10_000
    assert priority.MAX_BACKOFF_DELAY_MILLIS == 18_000_000
    assert priority.MIN_PERIOD_MILLIS == 15 * 60 * 1000
    assert priority.MIN_FLEX_MILLIS == 5 * 60 * 1000
