"""Telling whoever shows a transfer that its run is retrying, and why, at the first failure.

Every retry within a run goes through one :class:`~uidt.transfers.retry.RetryBudget` (the
download's, one per range of a segmented download, the upload's): :meth:`RetryBudget.failed`
calls :func:`retrying` with the error each time it grants another attempt. The transfer
service listens for the run (:func:`listening`) and shows the reason in the job's
notification (:class:`RetryNote` decides when the text is worth posting).

The listener is a context variable rather than a parameter threaded through the download,
segmented and upload engines: the tasks a run starts (one per range connection) inherit it,
and the engines stay unaware of how their retries are shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from uidt.clock import Clock
from uidt.notify.ratelimit import DEFAULT_MIN_INTERVAL_MS
from uidt.transfers.failures import trouble
from uidt.transfers.jobs import RETRYING

Listener = Callable[[BaseException], None]
"""Called with the error of each failed attempt that is about to be tried again."""

_LISTENER: ContextVar[Listener | None] = ContextVar("uidt_transfer_retries", default=None)

__all__ = ["Listener", "RetryNote", "listening", "retrying"]


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send the retries of the transfer run within this block (and its tasks) to ``listener``."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def retrying(exc: BaseException) -> None:
    """The run tries again after ``exc``: tell the listener, if any."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(exc)


class RetryNote:
    """When a retrying run's notification text is posted.

    A run may fail every half second (or, with ranges, several connections at once). The text
    (``retrying: <reason>``) is posted the first time, and again only when the reason changes,
    at most once per :data:`~uidt.notify.ratelimit.DEFAULT_MIN_INTERVAL_MS` (the pace of the
    notification sinks); the same reason again is no news. :meth:`flowing` forgets it: bytes
    flow again, the progress text is back, and a new failure is news again.

    Args:
        clock: Time source (``elapsed()`` in milliseconds).
        scrub: Makes a text fit to show (no password of a URL, no secret header value).
    """

    def __init__(self, clock: Clock, scrub: Callable[[str], str]) -> None:
        self.clock = clock
        self.scrub = scrub
        #: The text posted last while retrying, ``None`` while bytes flow.
        self.text: str | None = None
        self._posted_ms: int | None = None

    def failed(self, exc: BaseException) -> str | None:
        """The text to post after ``exc``, or ``None`` when there is nothing new to say yet."""
        text = f"{RETRYING} {self.scrub(trouble(exc))}"
        now = self.clock.elapsed()
        if text == self.text:
            return None
        if self._posted_ms is not None and now - self._posted_ms < DEFAULT_MIN_INTERVAL_MS:
            return None
        self.text, self._posted_ms = text, now
        return text

    def flowing(self) -> None:
        """Bytes flow again: the next failure is news."""
        self.text = None
