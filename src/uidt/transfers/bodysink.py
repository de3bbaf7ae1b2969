"""Where a download's response body goes: :class:`BodySink`.

A transport (:mod:`uidt.transfers.transport`) pours the body of an accepted answer into a sink in
one of two ways: chunk by chunk on the event loop (:meth:`BodySink.chunk`, the ``aiohttp``
reader), or straight into the part file's descriptor from a copying thread
(:meth:`BodySink.fileno` + :meth:`BodySink.appended`, the splice reader). Either way the sink
does the same things: it compares the bytes a resume asked for again with the part file (the
overlap of :mod:`uidt.transfers.resumecheck`), never lets the body run past the file's known
end, starts a checkpoint every half interval and holds the reader back when a whole interval
is not yet checkpointed, counts the bytes received, reports progress, applies the
lowest-speed rule (:mod:`uidt.transfers.speedfloor`) and the rate limit
(:mod:`uidt.transfers.throttle`: the reader pauses after each chunk while a limit is set).
"""

from __future__ import annotations

from collections.abc import Callable

from uidt.transfers.partfile import PartFile
from uidt.transfers.progress import Progress, ProgressMeter
from uidt.transfers.rawhttp import BodyEndedError
from uidt.transfers.resumecheck import ResumeRequest
from uidt.transfers.sink import PourPaused
from uidt.transfers.speedfloor import SpeedFloor
from uidt.transfers.throttle import Throttle


class BodySink:
    """The part file side of one download's bodies (one sink serves every attempt of a run).

    Args:
        part: The part file the bytes go to.
        resume: The request being answered (its overlap, if any, is checked first).
        checkpoint_bytes: The most received bytes no checkpoint may name yet.
        record_ms: The most time of transfer no checkpoint may name yet.
        checkpoint_ms: How often a checkpoint is made durable.
        meter: Turns byte counts into progress reports.
        floor: The lowest-speed rule.
        on_progress: Told each progress report.
        throttle: The transfer's rate limit (default: none, changeable later).
    """

    def __init__(
        self,
        part: PartFile,
        resume: ResumeRequest,
        *,
        checkpoint_bytes: int,
        record_ms: int,
        checkpoint_ms: int,
        meter: ProgressMeter,
        floor: SpeedFloor,
        on_progress: Callable[[Progress], None] | None,
        throttle: Throttle | None = None,
    ) -> None:
        self.part = part
        self.resume = resume
        self.checkpoint_bytes = checkpoint_bytes
        self.record_ms = record_ms
        self.checkpoint_ms = checkpoint_ms
        self.meter = meter
        self.floor = floor
        self.on_progress = on_progress
        self.throttle = throttle if throttle is not None else Throttle()
        self.received = 0  # body bytes received, re-sent ones included
        #: Set (on the event loop) to stop taking the body after the next write, the response
        #: left open for another sink (:class:`~uidt.transfers.sink.PourPaused`).
        self.pause_requested = False
        self._repeated = b""

    def start(self) -> None:
        """A body begins: progress and the lowest-speed rule count from the current offset."""
        self.meter.restart(self.part.written)
        self.floor.restart(self.part.written)
        self._repeated = b""

    def tick(self) -> None:
        """Report progress when due and apply the lowest-speed rule (on the event loop).

        Raises:
            TooSlowError: The transfer stayed below the lowest speed for the window.
        """
        report = self.meter.update(self.part.written)
        if report is not None and self.on_progress is not None:
            self.on_progress(report)
        self.floor.check(self.part.written, self.throttle.rate)

    # -- chunk by chunk, on the event loop ---------------------------------------------------
    async def chunk(self, chunk: bytes) -> None:
        """Take the next ``chunk`` of the body.

        Raises:
            RestartFromZero: The bytes repeated before the resume point differ.
            BodyEndedError: The body runs past the file's known end.
        """
        part = self.part
        self.received += len(chunk)
        overlap = self.resume.overlap
        if overlap is not None:
            self._repeated += chunk
            if len(self._repeated) < len(overlap):
                return
            chunk = self._repeated[len(overlap) :]
            self.resume.check_overlap(self._repeated[: len(overlap)])
            self._repeated = b""
        if part.total is not None and len(chunk) > part.total - part.written:
            raise BodyEndedError("the server sent more bytes than the file has")
        part.write(chunk)
        if self._start_due_commit():
            await part.recorded_at(part.written - self.checkpoint_bytes)
        self.tick()
        await self.throttle.pause(len(chunk))
        if self.pause_requested:
            raise PourPaused

    # -- straight into the file, from a copying thread ---------------------------------------
    @property
    def overlap_size(self) -> int:
        """Bytes the body repeats before the resume point (taken with :meth:`check_overlap`)."""
        overlap = self.resume.overlap
        return 0 if overlap is None else len(overlap)

    def to_copy(self, content_length: int) -> int:
        """Bytes to copy after the overlap: never past the file's known end."""
        length = max(0, content_length - self.overlap_size)
        if self.part.total is not None:
            length = min(length, self.part.total - self.part.written)
        return length

    @property
    def copy_chunk_bytes(self) -> int:
        """The most bytes to copy between two calls of :meth:`appended`."""
        # Never more than half an interval between two checks of the durability promise.
        return max(1, self.checkpoint_bytes // 2)

    def read_bytes(self, unlimited: int) -> int:
        """How many bytes the copying thread should read at once now (bounded while limited);
        asked before each read, so it also checks the fence (a takeover stops the copy)."""
        self.part.check_fence()
        return self.throttle.chunk_bytes(unlimited)

    def check_overlap(self, repeated: bytes) -> None:
        """Compare the repeated bytes with the part file (any thread).

        Raises:
            RestartFromZero: They differ: the file changed on the server.
        """
        self.received += len(repeated)
        self.resume.check_overlap(repeated)
        self.throttle.pause_in_thread(len(repeated))

    def fileno(self) -> int:
        """The part file, positioned where the next body byte goes."""
        return self.part.fileno()

    def appended(self, count: int) -> None:
        """Account for ``count`` bytes the copying thread wrote to :meth:`fileno` (blocks on
        the back-pressure).

        Raises:
            OSError: A write or commit failed in the part file's I/O thread.
        """
        self.part.appended(count)
        self.received += count
        if self._start_due_commit():
            # Back-pressure: never hold more than one interval of bytes a kill would lose.
            self.part.wait_recorded(self.part.written - self.checkpoint_bytes)
        self.throttle.pause_in_thread(count)
        if self.pause_requested:
            raise PourPaused  # every byte read so far is written and counted

    def _start_due_commit(self) -> bool:
        """Start a commit when one is due; ``True`` when a whole interval is not checkpointed."""
        part = self.part
        every_bytes = self.checkpoint_bytes
        # Every half interval of time too: what a kill loses stays under one interval. A
        # durable commit may come sooner (by bytes): what a crash loses stays short too.
        durable = part.sync_due(self.checkpoint_ms)
        if durable or part.commit_due(every_bytes, max(1, self.record_ms // 2)):
            part.start_commit(durable=durable)
        return part.written - part.recorded > every_bytes
