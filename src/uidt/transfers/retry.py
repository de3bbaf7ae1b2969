"""When and how long a transfer waits before trying again within the same run."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from uidt.errors import RetryLaterError
from uidt.transfers.failures import TransientStatusError, gave_up_error, no_such_name
from uidt.transfers.notices import Notice
from uidt.transfers.resumecheck import restart_limit_error
from uidt.transfers.retrynotes import retrying
from uidt.transfers.speedfloor import TooSlowError

Sleep = Callable[[float], Awaitable[None]]
"""An injectable ``asyncio.sleep``: tests pass one that records and returns at once."""

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 507})

__all__ = [
    "TRANSIENT_STATUSES",
    "RetryBudget",
    "RetryPolicy",
    "Sleep",
    "parse_retry_after",
]


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
    """How long one run waits between attempts, and how many it makes.

    Two kinds of transient failure are counted apart, because they call for different waits:

    - a *status* (5xx, 429, 408) comes from a server that is reachable but busy: the wait
      doubles from ``base_delay`` up to ``max_delay`` (a ``Retry-After`` is honoured up to
      ``max_retry_after``), so a struggling server is not hammered;
    - a *link* error (cannot connect, reset, timeout, a body cut short) says nothing about the
      server: the wait stays short (at most ``link_max_delay``, less up to ``jitter`` of it),
      so the transfer goes on within about a second of the link coming back, as curl's and
      wget's retries do.

    A host name the resolver says does not exist (``EAI_NONAME``) is an answer, not a silent
    link: it is asked ``name_retries`` more times (a resolver being switched, a VPN coming
    up), then the run ends and the job waits for the scheduler's backoff.

    Attributes:
        retries: Consecutive transient statuses retried, and attempts ended by the lowest-speed
            rule, and restarts from zero.
        link_retries: Consecutive link errors retried (about ``link_retries`` seconds of a
            link that is down).
        base_delay: Seconds before the first retry; doubles each time.
        max_delay: Upper bound of one backoff delay after a status.
        max_retry_after: Upper bound honoured from a ``Retry-After`` header.
        name_retries: Consecutive "no such host name" answers retried within the run.
        link_max_delay: Upper bound of one delay after a link error.
        jitter: The fraction of a link delay taken off at random, so that many clients that
            lost one link do not come back in step.
    """

    retries: int = 6
    link_retries: int = 60
    name_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 600.0
    link_max_delay: float = 1.0
    jitter: float = 0.25

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return float(min(self.max_delay, self.base_delay * (2 ** max(0, failures - 1))))

    def link_delay(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after the ``failures``-th consecutive link error (1-based)."""
        delay = min(self.link_max_delay, self.base_delay * (2 ** max(0, failures - 1)))
        return float(delay * (1.0 - self.jitter * rng.random()))


class RetryBudget:
    """The failures of one run, counted against a :class:`RetryPolicy`.

    Five counts:

    - consecutive transient statuses (bounded by ``retries``, exponential backoff); an attempt
      that moved bytes starts the count again;
    - consecutive link errors (bounded by ``link_retries``, short delays); an attempt that moved
      bytes, or any answer from the server (a status: the link works), starts it again; of
      those, read timeouts in a row are bounded by ``retries`` (each has already waited the
      read timeout: a silent server is not waited on for an hour within one run), and
      "no such host name" answers in a row by ``name_retries``;
    - attempts ended by the lowest-speed rule (bounded by ``retries``); they moved bytes, but too
      few to be the progress that starts the counts again (or a dripping server would be
      retried forever);
    - restarts from zero (bounded by ``retries``), never started again within the run: the bytes
      a restart throws away are no progress.

    When one of the first four is used up the run ends with :class:`RetryLaterError`: the
    trouble may pass, and the service asks to run again later. Too many restarts is a server
    that contradicts itself, a permanent :class:`TransferError`. Each failure that is tried
    again is told to the run's listener (:func:`uidt.transfers.retrynotes.retrying`), so the
    job says it is retrying, and why, from the first one.
    """

    def __init__(self, url: str, policy: RetryPolicy, rng: random.Random | None = None) -> None:
        self.url = url
        self.policy = policy
        self.rng = rng or random.Random()
        self.statuses = 0
        self.link = 0
        self.silent = 0
        self.unnamed = 0
        self.slow = 0
        self.restarts = 0

    def failed(self, exc: BaseException, *, moved: bool) -> float:
        """Count a transient failure; return the delay before the next attempt.

        Raises:
            RetryLaterError: The retries of this run are used up (the reason says what kept
                failing); ``progressed`` is ``False``: the caller knows better.
        """
        self.slow = self.slow + 1 if isinstance(exc, TooSlowError) else 0
        progress = moved and not self.slow
        if progress:
            self.statuses = self.link = self.silent = self.unnamed = 0
        if self.slow > self.policy.retries:
            raise RetryLaterError(f"{self.url}: the transfer stayed {exc}, {self.slow} times")
        if isinstance(exc, TransientStatusError):
            self.link = self.silent = self.unnamed = 0  # the server answered: the link is back
            self.statuses += 1
            if self.statuses > self.policy.retries:
                raise RetryLaterError(str(gave_up_error(self.url, exc)))
            retrying(exc)
            return self.policy.delay(self.statuses, exc.retry_after)
        self.link += 1
        # A read timeout has already waited (60 s by default): as many in a row as statuses.
        self.silent = self.silent + 1 if isinstance(exc, TimeoutError) else 0
        self.unnamed = self.unnamed + 1 if no_such_name(exc) else 0
        if (
            self.link > self.policy.link_retries
            or self.silent > self.policy.retries
            or self.unnamed > self.policy.name_retries
        ):
            raise RetryLaterError(str(gave_up_error(self.url, exc)))
        retrying(exc)
        return self.policy.link_delay(self.link, self.rng)

    def restarted(self, notice: Notice) -> float:
        """Count a restart from zero; return the delay before it (none for the first).

        Raises:
            TransferError: Too many restarts (:func:`restart_limit_error` says why).
        """
        self.restarts += 1
        if self.restarts > self.policy.retries:
            raise restart_limit_error(self.url, notice, self.restarts)
        return 0.0 if self.restarts == 1 else self.policy.delay(self.restarts - 1)
