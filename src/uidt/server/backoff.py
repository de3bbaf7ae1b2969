"""Reschedule decisions after a stop (docs/android-semantics.md#backoff), as pure functions."""

from __future__ import annotations

from dataclasses import dataclass

from uidt.job.priority import BackoffPolicy
from uidt.job.reasons import InternalStopReason, StopReason

_FAILURE_INTERNAL = frozenset(
    {InternalStopReason.SUCCESSFUL_FINISH, InternalStopReason.TIMEOUT, InternalStopReason.ANR}
)


@dataclass(frozen=True)
class BackoffDecision:
    """The counters after a stop and the delay before the job may run again (0 = none)."""

    num_failures: int
    num_system_stops: int
    delay_ms: int


def is_failure(stop_reason: StopReason, internal_reason: InternalStopReason) -> bool:
    """Whether a stop counts as a failure (else as a system stop)."""
    return (
        internal_reason in _FAILURE_INTERNAL
        or internal_reason is InternalStopReason.TIMEOUT_ABANDONED
        or stop_reason is StopReason.USER
    )


def backoff_delay_ms(
    attempts: int,
    initial_backoff_ms: int,
    policy: BackoffPolicy,
    *,
    min_backoff_ms: int = 10_000,
    max_backoff_ms: int = 5 * 60 * 60 * 1000,
) -> int:
    """The backoff delay for a number of attempts: linear or exponential, floored and capped."""
    if attempts <= 0:
        return 0
    base = max(initial_backoff_ms, min_backoff_ms)
    if policy is BackoffPolicy.LINEAR:
        delay = base * attempts
    else:
        delay = base * 2 ** min(attempts - 1, 62)
    return min(delay, max_backoff_ms)


def decide(
    num_failures: int,
    num_system_stops: int,
    stop_reason: StopReason,
    internal_reason: InternalStopReason,
    initial_backoff_ms: int,
    policy: BackoffPolicy,
    *,
    ratio: int = 3,
    min_backoff_ms: int = 10_000,
    max_backoff_ms: int = 5 * 60 * 60 * 1000,
) -> BackoffDecision:
    """Count the stop and compute the delay (``getRescheduleJobForFailureLocked``)."""
    if is_failure(stop_reason, internal_reason):
        num_failures += 1
    else:
        num_system_stops += 1
    attempts = num_failures + num_system_stops // max(ratio, 1)
    delay = backoff_delay_ms(
        attempts,
        initial_backoff_ms,
        policy,
        min_backoff_ms=min_backoff_ms,
        max_backoff_ms=max_backoff_ms,
    )
    return BackoffDecision(num_failures, num_system_stops, delay)
