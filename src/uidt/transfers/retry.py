"""When and how long a transfer waits before trying again within the same run."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from uidt.errors import RemoteError, TransferError
from uidt.transfers.notices import Notice
from uidt.transfers.rawhttp import ConnectFailedError
from uidt.transfers.resumecheck import restart_limit_error
from uidt.transfers.speedfloor import TooSlowError

Sleep = Callable[[float], Awaitable[None]]
"""An injectable ``asyncio.sleep``: tests pass one that records and returns at once."""

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 507})


class TransientStatusError(Exception):
    """A status worth retrying (5xx, 429, 408), with the server's ``Retry-After`` if any."""

    def __init__(self, status: int, reason: str, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status
        self.retry_after = retry_after


_BUILTIN_TRANSIENT: tuple[type[BaseException], ...] = (
    TimeoutError,
    ConnectionError,
    TransientStatusError,
)


def transient_errors() -> tuple[type[BaseException], ...]:
    """What a retry within the run can fix: resets, truncated bodies, timeouts, 5xx/429.

    ``aiohttp``'s connection and payload errors are included once ``aiohttp`` is imported
    (it is imported only when a transfer needs it, so a plain-HTTP download never pays for it).
    """
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None:
        return _BUILTIN_TRANSIENT
    return (*_BUILTIN_TRANSIENT, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date).

    Args:
        value: The header value, or ``None``.
        now: The current wall-clock time (aware), for the HTTP-date form.

    Returns:
        Non-negative seconds, or ``None`` if the header is missing or unparseable.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff between attempts of one run.

    Attributes:
        retries: How many consecutive failed attempts are retried (an attempt that moved bytes
            resets the count, so a long transfer survives many isolated resets).
        base_delay: Seconds before the first retry; doubles each time.
        max_delay: Upper bound of one backoff delay.
        max_retry_after: Upper bound honoured from a ``Retry-After`` header.
    """

    retries: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 600.0

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return float(min(self.max_delay, self.base_delay * (2 ** max(0, failures - 1))))


def final_error(url: str, exc: BaseException) -> TransferError:
    """The error to raise once retries of a transient failure are used up."""
    if isinstance(exc, TransientStatusError):
        return RemoteError(f"{url}: the server kept answering {exc}")
    aiohttp = sys.modules.get("aiohttp")
    if isinstance(exc, ConnectFailedError) or (
        aiohttp is not None and isinstance(exc, aiohttp.ClientConnectorError)
    ):
        return TransferError(f"{url}: cannot reach {exc.host}:{exc.port} ({exc.os_error})")
    return TransferError(f"{url}: gave up after repeated errors ({type(exc).__name__}: {exc})")


class RetryBudget:
    """The failures of one run, counted against a :class:`RetryPolicy`.

    Three counts, each bounded by ``policy.retries``:

    - consecutive failed attempts; an attempt that moved bytes starts the count again, so a long
      transfer survives many isolated resets;
    - of those, the attempts ended by the lowest-speed rule; they moved bytes, but too few to be
      the progress that starts the count again (or a dripping server would be retried forever);
    - restarts from zero, never started again within the run: the bytes a restart throws away
      are no progress (or a server that announces more than it sends would loop forever).
    """

    def __init__(self, url: str, policy: RetryPolicy) -> None:
        self.url = url
        self.policy = policy
        self.failures = 0
        self.slow = 0
        self.restarts = 0

    def failed(self, exc: BaseException, *, moved: bool) -> float:
        """Count a transient failure; return the delay before the next attempt.

        Raises:
            TransferError: The retries are used up (the reason says what kept failing).
        """
        self.slow = self.slow + 1 if isinstance(exc, TooSlowError) else 0
        self.failures = 1 if moved and not self.slow else self.failures + 1
        if self.failures > self.policy.retries:
            if self.slow:
                raise TransferError(f"{self.url}: the transfer stayed {exc}, {self.slow} times")
            raise final_error(self.url, exc)
        return self.policy.delay(self.failures, getattr(exc, "retry_after", None))

    def restarted(self, notice: Notice) -> float:
        """Count a restart from zero; return the delay before it (none for the first).

        Raises:
            TransferError: Too many restarts (:func:`restart_limit_error` says why).
        """
        self.restarts += 1
        if self.restarts > self.policy.retries:
            raise restart_limit_error(self.url, notice, self.restarts)
        return 0.0 if self.restarts == 1 else self.policy.delay(self.restarts - 1)
