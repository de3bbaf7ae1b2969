"""``ReaderHealth``: which device readers fail, and when each last worked.

A reader that raises keeps its last good value; its failure is logged once, and its recovery
once, so a broken sensor does not flood the log at every poll.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from uidt.clock import Clock
from uidt.device.reading import Reading

T = TypeVar("T")


class ReaderHealth:
    """The failing readers and each reader's last success (``clock.elapsed()`` milliseconds).

    Args:
        clock: stamps each success.
        logger: where failures and recoveries are logged (the source's own logger).
    """

    def __init__(self, clock: Clock, logger: logging.Logger) -> None:
        self._clock = clock
        self._logger = logger
        self._failing: set[str] = set()
        self._last_success_ms: dict[str, int] = {}

    def attempt(self, name: str, read: Callable[[], Reading[T]], last: Reading[T]) -> Reading[T]:
        """``read()``, or ``last`` if it raises (logged once until the reader works again)."""
        try:
            reading = read()
        except Exception as error:
            self.failed(name, error)
            return last
        self.succeeded(name)
        return reading

    def failed(self, name: str, error: BaseException) -> None:
        """The reader ``name`` failed (logged when it was working until now)."""
        if name not in self._failing:
            self._failing.add(name)
            self._logger.warning("Device reader %s failed, keeping its last value: %s", name, error)

    def succeeded(self, name: str) -> None:
        """The reader ``name`` worked (its recovery logged when it was failing)."""
        self._last_success_ms[name] = self._clock.elapsed()
        if name in self._failing:
            self._failing.discard(name)
            self._logger.info("Device reader %s works again", name)

    def last_success_ms(self) -> dict[str, int]:
        """When each reader last succeeded."""
        return dict(self._last_success_ms)
