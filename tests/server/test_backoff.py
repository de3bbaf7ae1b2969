"""Backoff (docs/android-semantics.md#backoff): failures vs system stops, ratio 3, linear/exponential, 10 s floor, 5 h cap."""

from __future__ import annotations

import pytest

from uidt.job import BackoffPolicy, InternalStopReason, StopReason
from uidt.server.backoff import backoff_delay_ms, decide, is_failure

HOUR = 3_600_000


def test_exponential_sequence_doubles_from_30s_to_the_5h_cap() -> None:
    delays = [backoff_delay_ms(n, 30_000, BackoffPolicy.EXPONENTIAL) for n in range(1, 12)]
    assert delays[:5] == [30_000, 60_000, 120_000, 240_000, 480_000]
    assert delays[-1] == 5 * HOUR
    assert max(delays) == 5 * HOUR


def test_linear_sequence() -> None:
    assert [backoff_delay_ms(n, 20_000, BackoffPolicy.LINEAR) for n in (1, 2, 3)] == [
        20_000,
        40_000,
        60_000,
    ]


def test_initial_backoff_below_10s_is_raised_and_zero_attempts_wait_nothing() -> None:
    assert backoff_delay_ms(1, 0, BackoffPolicy.EXPONENTIAL) == 10_000
    assert backoff_delay_ms(0, 30_000, BackoffPolicy.EXPONENTIAL) == 0


def test_huge_attempt_counts_stay_capped() -> None:
    assert backoff_delay_ms(10_000, 30_000, BackoffPolicy.EXPONENTIAL) == 5 * HOUR


@pytest.mark.parametrize(
    ("reason", "internal", "failure"),
    [
        (StopReason.UNDEFINED, InternalStopReason.SUCCESSFUL_FINISH, True),
        (StopReason.TIMEOUT, InternalStopReason.TIMEOUT, True),
        (StopReason.UNDEFINED, InternalStopReason.ANR, True),
        (StopReason.USER, InternalStopReason.UNKNOWN, True),
        (StopReason.TIMEOUT_ABANDONED, InternalStopReason.TIMEOUT_ABANDONED, True),
        (StopReason.CONSTRAINT_CONNECTIVITY, InternalStopReason.CONSTRAINTS_NOT_SATISFIED, False),
        (StopReason.DEVICE_STATE, InternalStopReason.DEVICE_THERMAL, False),
        (StopReason.UNDEFINED, InternalStopReason.UNKNOWN, False),
    ],
)
def test_failure_or_system_stop(
    reason: StopReason, internal: InternalStopReason, failure: bool
) -> None:
    assert is_failure(reason, internal) is failure


def test_three_system_stops_make_one_attempt() -> None:
    failures, stops = 0, 0
    delays = []
    for _ in range(3):
        d = decide(
            failures,
            stops,
            StopReason.CONSTRAINT_CONNECTIVITY,
            InternalStopReason.CONSTRAINTS_NOT_SATISFIED,
            30_000,
            BackoffPolicy.EXPONENTIAL,
        )
        failures, stops = d.num_failures, d.num_system_stops
        delays.append(d.delay_ms)
    assert delays == [0, 0, 30_000]
    assert (failures, stops) == (0, 3)
    d = decide(
        failures,
        stops,
        StopReason.TIMEOUT,
        InternalStopReason.TIMEOUT,
        30_000,
        BackoffPolicy.EXPONENTIAL,
    )
    assert (d.num_failures, d.delay_ms) == (1, 60_000)
