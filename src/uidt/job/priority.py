"""Job priority and backoff policy constants (Android's numbers)."""

from __future__ import annotations

from enum import IntEnum


class Priority(IntEnum):
    """``JobInfo.PRIORITY_*``."""

    MIN = 100
    LOW = 200
    DEFAULT = 300
    HIGH = 400
    MAX = 500


class BackoffPolicy(IntEnum):
    """``JobInfo.BACKOFF_POLICY_*``."""

    LINEAR = 0
    EXPONENTIAL = 1


#: Android's defaults and bounds, in milliseconds.
DEFAULT_INITIAL_BACKOFF_MILLIS = 30_000
MIN_BACKOFF_MILLIS = 10_000
MAX_BACKOFF_DELAY_MILLIS = 5 * 60 * 60 * 1000
MIN_PERIOD_MILLIS = 15 * 60 * 1000
MIN_FLEX_MILLIS = 5 * 60 * 1000
