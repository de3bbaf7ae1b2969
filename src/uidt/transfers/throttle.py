"""One transfer's rate limit: its own (``--limit-rate``) and its share of the global one.

A :class:`Throttle` holds a :class:`~uidt.transfers.tokenbucket.TokenBucket` at the lower of
the two limits and makes readers pause: the splice reader's copying thread with
:meth:`Throttle.pause_in_thread`, the ``aiohttp`` reader and the upload body on the event loop
with :meth:`Throttle.pause`. A pause sleeps (never spins) and ends early when the limit changes,
so a new limit takes effect at once; :meth:`Throttle.interrupt` ends a thread's pause (and the
pauses it would start) when its transfer is stopped, until :meth:`Throttle.resume`. Several
readers of one transfer (the ranges of a segmented download) each take a
:class:`ThrottleLane` (:meth:`Throttle.lane`): one bucket for their sum, but stopping one
reader's thread leaves the others paused. Without any limit a reader pays one attribute check per chunk.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from uidt.clock import Clock, SystemClock
from uidt.transfers.tokenbucket import TokenBucket, chunk_for


class Throttle:
    """The limits of one transfer (``None``: no limit of that kind).

    Args:
        own: The transfer's own limit in bytes per second.
        clock: Time for the bucket (the waits themselves sleep in real time).
    """

    def __init__(self, own: int | None = None, *, clock: Clock | None = None) -> None:
        self._own = own
        self._share: int | None = None
        self._bucket = TokenBucket(own, clock or SystemClock())
        self._cond = threading.Condition()
        self._interrupted = False
        self._changed: asyncio.Event | None = None

    @property
    def rate(self) -> int | None:
        """The limit in force: the lower of the two, ``None`` when neither is set."""
        return self._bucket.rate

    @property
    def own(self) -> int | None:
        return self._own

    @property
    def share(self) -> int | None:
        return self._share

    @property
    def taken(self) -> int:
        """Bytes counted so far (with or without a limit)."""
        return self._bucket.taken

    def chunk_bytes(self, unlimited: int) -> int:
        """How many bytes a reader should move at once (``unlimited`` without a limit)."""
        return chunk_for(self._bucket.rate, unlimited)

    def set_share(self, share: int | None) -> None:
        """The daemon's share of the global limit for this transfer changed (on the loop)."""
        self._share = share
        self._apply()

    def set_own(self, own: int | None) -> None:
        """The transfer's own limit changed (on the loop)."""
        self._own = own
        self._apply()

    def _apply(self) -> None:
        limits = [r for r in (self._own, self._share) if r is not None]
        rate = min(limits) if limits else None
        with self._cond:
            if rate == self._bucket.rate:
                return
            self._bucket.set_rate(rate)
            self._cond.notify_all()
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def interrupt(self) -> None:
        """End every pause of a copying thread now, and let it start none (its transfer is
        being stopped) until :meth:`resume`."""
        with self._cond:
            self._interrupted = True
            self._cond.notify_all()

    def resume(self) -> None:
        """A new body begins: threads pause for the limit again."""
        with self._cond:
            self._interrupted = False

    def pause_in_thread(self, count: int) -> None:
        """Count ``count`` bytes a thread moved; sleep until the limit allows more (blocking)."""
        if self._bucket.rate is None:
            self._bucket.taken += count  # one reader: nothing to lock
            return
        self._pause_in_thread(count, lambda: self._interrupted)

    def _pause_in_thread(self, count: int, interrupted: Callable[[], bool]) -> None:
        """:meth:`pause_in_thread` for any of several threads (the count under the lock)."""
        with self._cond:
            delay = self._bucket.take(count)
            while delay > 0 and not interrupted():
                self._cond.wait(delay)
                delay = self._bucket.pause()

    def lane(self) -> ThrottleLane:
        """A view for one of several readers of the same transfer (the ranges of a segmented
        download): the same limit over all of them, an :meth:`interrupt` of its own."""
        return ThrottleLane(self)

    async def pause(self, count: int) -> None:
        """Count ``count`` bytes moved on the event loop; sleep until the limit allows more."""
        with self._cond:
            delay = self._bucket.take(count)
        while delay > 0:
            if self._changed is None:
                self._changed = asyncio.Event()
            changed = self._changed
            try:
                async with asyncio.timeout(delay):
                    await changed.wait()
            except TimeoutError:
                pass
            with self._cond:
                delay = self._bucket.pause()


class ThrottleLane:
    """One reader's view of a shared :class:`Throttle` (see :meth:`Throttle.lane`).

    The bucket, its limit and its changes are the shared throttle's; only :meth:`interrupt`
    and :meth:`resume` are this reader's own.
    """

    def __init__(self, shared: Throttle) -> None:
        self._shared = shared
        self._interrupted = False

    @property
    def rate(self) -> int | None:
        return self._shared.rate

    @property
    def taken(self) -> int:
        return self._shared.taken

    def chunk_bytes(self, unlimited: int) -> int:
        return self._shared.chunk_bytes(unlimited)

    def interrupt(self) -> None:
        """End this reader's pause now, and let it start none until :meth:`resume`."""
        with self._shared._cond:
            self._interrupted = True
            self._shared._cond.notify_all()

    def resume(self) -> None:
        with self._shared._cond:
            self._interrupted = False

    def pause_in_thread(self, count: int) -> None:
        self._shared._pause_in_thread(count, lambda: self._interrupted)

    async def pause(self, count: int) -> None:
        await self._shared.pause(count)
