"""What a transport pours a body into: the :class:`Sink` protocol.

Two implement it: :class:`~uidt.transfers.bodysink.BodySink` (the whole rest of the file, appended
to the part file) and the segment sink of :mod:`uidt.transfers.segmented` (one byte range of
the file, written at its offset). The readers of :mod:`uidt.transfers.rawtransport` and
:mod:`uidt.transfers.aiotransport` see only this.
"""

from __future__ import annotations

from typing import Protocol


class PourPaused(Exception):
    """Raised by a sink to stop taking a body *between* two writes, every byte read so far
    written and accounted: the transport leaves the response open and positioned at the next
    body byte, so another sink may take the rest of it (``--split auto`` handing its first
    connection to the segmented fetch, :mod:`uidt.transfers.autoswitch`)."""


class Pacer(Protocol):
    """The rate limit as a reader sees it: a :class:`~uidt.transfers.throttle.Throttle`, or
    one reader's :class:`~uidt.transfers.throttle.ThrottleLane` of it."""

    @property
    def rate(self) -> int | None:
        """The limit in force (``None``: none)."""
        ...

    def chunk_bytes(self, unlimited: int) -> int:
        """How many bytes to read at once now."""
        ...

    def interrupt(self) -> None:
        """End this reader's pause now (its transfer is being stopped)."""
        ...

    def resume(self) -> None:
        """A new body begins: pause for the limit again."""
        ...

    def pause_in_thread(self, count: int) -> None:
        """Count bytes a thread moved; sleep until the limit allows more."""
        ...

    async def pause(self, count: int) -> None:
        """Count bytes moved on the event loop; sleep until the limit allows more."""
        ...


class Sink(Protocol):
    """Where the body of an accepted answer goes (see :mod:`uidt.transfers.bodysink`)."""

    @property
    def throttle(self) -> Pacer:
        """The rate limit the readers pause for."""
        ...

    @property
    def overlap_size(self) -> int:
        """Bytes the body repeats before the point it continues (checked, not written)."""
        ...

    @property
    def copy_chunk_bytes(self) -> int:
        """The most bytes a copying thread moves between two calls of :meth:`appended`."""
        ...

    def to_copy(self, content_length: int) -> int:
        """Bytes of a body of ``content_length`` to copy into :meth:`fileno` after the overlap."""
        ...

    def read_bytes(self, unlimited: int) -> int:
        """How many bytes a copying thread should read at once now."""
        ...

    def check_overlap(self, repeated: bytes) -> None:
        """Compare the repeated bytes with what is already there (any thread)."""
        ...

    def fileno(self) -> int:
        """The file, positioned where the next body byte goes."""
        ...

    def appended(self, count: int) -> None:
        """Account for ``count`` bytes a copying thread wrote to :meth:`fileno`."""
        ...

    def tick(self) -> None:
        """Report progress and apply the lowest-speed rule (on the event loop)."""
        ...

    async def chunk(self, chunk: bytes) -> None:
        """Take the next ``chunk`` of the body (on the event loop)."""
        ...
