"""One connection of a segmented download as the body's sink: :class:`RangeSink`.

A connection fetches one range at a time (:attr:`RangeSink.segment`; it moves to another when
its range is done). The bytes go to the range's offset through the connection's own
descriptor, never past the range's ``end``, which may move back while the body arrives (an
idle connection took the far part of it: :func:`~uidt.transfers.segments.cut_segment`); the
body is then left where the range now ends (:class:`SegmentFilled`).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from uidt.clock import Clock
from uidt.transfers.autosplit import RATE_MS
from uidt.transfers.rangesave import WRITEBACK_BYTES
from uidt.transfers.retry import RetryBudget
from uidt.transfers.segments import Segment
from uidt.transfers.throttle import ThrottleLane

if TYPE_CHECKING:
    from uidt.transfers.rangesources import RangeSource


#: The least a range's reads are bounded to (see :func:`read_size`).
LEAST_READ_BYTES = 64 * 1024


def read_size(copy_chunk_bytes: int, least: int) -> int:
    """The most bytes one read of a range asks for: a cut falls past the read in flight, so
    reads are kept to a quarter of the least range (the file is then cut as finely as
    before); never under :data:`LEAST_READ_BYTES`."""
    return min(copy_chunk_bytes, max(LEAST_READ_BYTES, least // 4))


class SegmentFilled(Exception):
    """The range is complete; the rest of this body belongs to other ranges."""


class ConnectionDropped(Exception):
    """The connection is being closed (``--split auto`` handed it back): stop copying now,
    even while the kernel still holds bytes of the body that arrived earlier."""


class RangeSink:
    """One connection's side of the bodies it receives (see the module docstring).

    Args:
        fd: A descriptor of the part file with a file position of its own.
        source: The URL (the first source or a mirror) this connection asks.
        budget: This connection's failures (the run's retry policy).
        lane: This connection's share of the download's rate limit.
        copy_chunk_bytes: The most bytes a copying thread moves between two accountings.
        tick: Progress, the lowest-speed rule and the fence, asked before each read.
        clock: For the rate of the range (:meth:`rate`).
    """

    def __init__(
        self,
        fd: int,
        source: RangeSource,
        *,
        budget: RetryBudget,
        lane: ThrottleLane,
        copy_chunk_bytes: int,
        tick: Callable[[], None],
        clock: Clock,
        writeback: Callable[[int, int, int], None] | None = None,
    ) -> None:
        self.fd = fd
        self.source = source  # where this connection asks for its ranges
        self.budget = budget
        self.lane = lane
        self.copy_chunk_bytes = copy_chunk_bytes
        self.tick = tick
        self.clock = clock
        self.writeback = writeback
        self._writeback_from = 0  # the first byte of the range whose writeback is not asked
        self.segment = Segment(0, 0, 0)  # set by take() before any body arrives
        self.busy = False  # fetching self.segment now (another connection may not take it)
        self.received = 0  # body bytes of this connection's answers (one thread at a time)
        self.dropped = False  # being closed: its copying thread stops at its next write
        self._took_ms = 0
        self._took_done = 0
        #: Held while a read's size is chosen, and while the range's end is moved back: a
        #: read never runs past the end, so no byte is fetched by two connections.
        self.reading_lock = threading.Lock()
        self.reading_to = 0  # where the read in flight (or the last one) ends
        self.body_end = 0  # where the body being poured ends in the file (set before pouring)

    def take(self, segment: Segment) -> None:
        """Start on ``segment`` (its rate is measured from now)."""
        self.segment = segment
        self.busy = True
        self.dropped = False
        self._took_ms = self.clock.elapsed()
        self._took_done = segment.done
        self.reading_to = segment.done
        self._writeback_from = segment.done

    def rate(self) -> float | None:
        """Bytes/s this connection brings to its range, once measured (``RATE_MS`` on it)."""
        elapsed = self.clock.elapsed() - self._took_ms
        if elapsed < RATE_MS:
            return None
        return (self.segment.done - self._took_done) * 1000 / elapsed

    @property
    def throttle(self) -> ThrottleLane:
        return self.lane

    @property
    def overlap_size(self) -> int:
        return 0  # a range is asked for from its first missing byte, never before

    def to_copy(self, content_length: int) -> int:
        """The rest of the body: the copy stops sooner where the range ends (:meth:`appended`),
        and goes on past the range's end when the range after it was given back to this
        connection (:func:`~uidt.transfers.rangeclaims.give_back`)."""
        return max(0, min(content_length, self.body_end - self.segment.done))

    def read_bytes(self, unlimited: int) -> int:
        """At most what the rate limit allows now and what is left of the range (in the
        copying thread; a cut waits for :attr:`reading_lock` and stays past the read)."""
        step = self.throttle.chunk_bytes(unlimited)
        with self.reading_lock:
            segment = self.segment
            step = max(1, min(step, segment.end - segment.done))
            self.reading_to = segment.done + step
        return step

    def check_overlap(self, repeated: bytes) -> None:  # pragma: no cover - overlap_size is 0
        raise AssertionError("a range repeats no bytes")

    def fileno(self) -> int:
        return self.fd

    def appended(self, count: int) -> None:
        """``count`` bytes written at the range's ``done`` by the copying thread (in it)."""
        # ``done`` moves only after the bytes are in the file: a checkpoint never runs ahead.
        # Past an end moved back meanwhile, ``Segment.present`` counts only up to the end.
        segment = self.segment
        with self.reading_lock:  # an end moved forward is seen now or not at all
            segment.done += count
            filled = segment.complete
        self.received += count
        self._start_writeback()
        self.throttle.pause_in_thread(count)
        if filled:
            raise SegmentFilled
        if self.dropped:
            raise ConnectionDropped

    async def chunk(self, chunk: bytes) -> None:
        segment = self.segment
        self.received += len(chunk)
        data = chunk[: segment.left]
        if data:
            await asyncio.to_thread(os.pwrite, self.fd, data, segment.done)
            segment.done += len(data)
            self._start_writeback()
        self.tick()
        await self.throttle.pause(len(data))
        if segment.complete:
            raise SegmentFilled

    def _start_writeback(self) -> None:
        """Every :data:`~uidt.transfers.rangesave.WRITEBACK_BYTES` of the range, hand them
        to the kernel's writeback (:class:`~uidt.transfers.rangesave.RangeWriteback`)."""
        done = min(self.segment.done, self.segment.end)
        if self.writeback is not None and done - self._writeback_from >= WRITEBACK_BYTES:
            self.writeback(self.fd, self._writeback_from, done - self._writeback_from)
            self._writeback_from = done
