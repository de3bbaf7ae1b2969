"""Several connections, one file: :class:`SegmentedFetch` and :func:`plan_from_answer`.

A download with ``split`` above 1 (``uidt download --split N``, aria2's option) asks its first
request for ``Range: bytes=0-``. When the answer is a ``206`` for the whole file with a
validator (a strong ETag or a Last-Modified date) and the file is at least twice
``min_split_size`` (:func:`~uidt.transfers.segments.split_count`), the part file is made
``total`` bytes long and the file is fetched as N byte ranges at once: the first answer's body
fills the first range (its connection is closed at the range's end), and one more request per
range fetches the others, each written at its own offset through a descriptor of its own.
Otherwise the first answer is taken as before, over one connection.

Every range's answer is checked against the first one before a byte of it is written: a
``206`` whose ``Content-Range`` starts where asked, names the same total, with the same ETag
and Last-Modified (:func:`~uidt.transfers.resumecheck.check_partial`), and each request says
``If-Range``. A ``200`` (the server ignores ranges, or the file changed), a ``416``, another
version or another start ends the segmented attempt with
:class:`~uidt.transfers.resumecheck.RestartFromZero`: the engine throws the part file away and
goes on over one connection, so bytes of two versions are never mixed. A range whose body ends
early, or whose connection fails, is asked for again from where it stopped, within a
:class:`~uidt.transfers.retry.RetryBudget` of its own (the run's policy): a hiccup of the link
that breaks every range at once is one failure of each, not N failures in a row.

The checkpoint (kind ``download-segments``) names each range's ``done`` end; it is saved every
``save_seconds`` and when the fetch ends (stopped, failed or done), each time after an
``fdatasync`` of the part file, so a checkpoint never names a byte that a crash could lose and
a resumed run asks each range only for what is missing. The file is published only when every
range is complete (and hashed from disk then, when a SHA-256 is expected). The rate limit is
one :class:`~uidt.transfers.throttle.Throttle` for all ranges (their sum stays under it; each
range's reader has a :class:`~uidt.transfers.throttle.ThrottleLane` of it), and
progress and the lowest-speed rule count the bytes of all ranges together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable

from uidt.clock import Clock
from uidt.errors import RemoteError, RetryLaterError
from uidt.transfers.failures import TransientStatusError, is_transient
from uidt.transfers.http import ResponseHead
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import PartFile
from uidt.transfers.progress import Progress, ProgressMeter
from uidt.transfers.rawhttp import BodyEndedError
from uidt.transfers.resumecheck import RestartFromZero, check_partial, parse_span, strong_etag
from uidt.transfers.retry import (
    TRANSIENT_STATUSES,
    RetryBudget,
    RetryPolicy,
    Sleep,
    parse_retry_after,
)
from uidt.transfers.segments import (
    Segment,
    plan_segments,
    present,
    segments_state,
    split_count,
)
from uidt.transfers.speedfloor import SpeedFloor, TooSlowError
from uidt.transfers.throttle import Throttle, ThrottleLane
from uidt.transfers.transport import Response, Transports

_log = logging.getLogger(__name__)

#: How often a segmented download's checkpoint is saved while it runs.
SAVE_SECONDS = 0.5


def plan_from_answer(
    response: ResponseHead, *, split: int, min_split_size: int
) -> list[Segment] | None:
    """The ranges to fetch when the answer to ``Range: bytes=0-`` allows several connections.

    ``None`` (one connection) unless it is a ``206`` for the whole file (``0-`` to its end,
    the length said), with a strong ETag or a Last-Modified date to hold the ranges to one
    version, and large enough for two ranges or more.
    """
    if split <= 1 or response.status != 206:
        return None
    headers = response.headers
    span = parse_span(headers.get("Content-Range"))
    if span is None:
        return None
    first, last, total = span
    if first != 0 or total is None or last != total - 1 or response.content_length != total:
        return None
    if strong_etag(headers.get("ETag")) is None and not headers.get("Last-Modified"):
        return None
    count = split_count(total, split, min_split_size)
    return None if count < 2 else plan_segments(total, count)


class _SegmentFilled(Exception):
    """The range is complete; the rest of this body belongs to other ranges."""


class _SegmentSink:
    """One range's side of a body: written at the range's offset, never past its end."""

    def __init__(self, fetch: SegmentedFetch, segment: Segment, fd: int) -> None:
        self._fetch = fetch
        self.segment = segment
        self.fd = fd
        self.received = 0  # body bytes of this range's answers (one thread at a time)
        self.budget = RetryBudget(fetch.url, fetch.policy)  # this range's failures
        self.lane = fetch.throttle.lane()  # the shared limit; stopping this range frees no other

    @property
    def throttle(self) -> ThrottleLane:
        return self.lane

    @property
    def overlap_size(self) -> int:
        return 0  # a range is asked for from its first missing byte, never before

    @property
    def copy_chunk_bytes(self) -> int:
        return self._fetch.copy_chunk_bytes

    def to_copy(self, content_length: int) -> int:
        return max(0, min(content_length, self.segment.end - self.segment.done))

    def read_bytes(self, unlimited: int) -> int:
        return self.throttle.chunk_bytes(unlimited)

    def check_overlap(self, repeated: bytes) -> None:  # pragma: no cover - overlap_size is 0
        raise AssertionError("a range repeats no bytes")

    def fileno(self) -> int:
        return self.fd

    def appended(self, count: int) -> None:
        # ``done`` moves only after the bytes are in the file: a checkpoint never runs ahead.
        self.segment.done += count
        self.received += count
        self.throttle.pause_in_thread(count)

    def tick(self) -> None:
        self._fetch.tick()

    async def chunk(self, chunk: bytes) -> None:
        segment = self.segment
        self.received += len(chunk)
        data = chunk[: segment.end - segment.done]
        if data:
            await asyncio.to_thread(os.pwrite, self.fd, data, segment.done)
            segment.done += len(data)
        self.tick()
        await self.throttle.pause(len(data))
        if segment.complete:
            raise _SegmentFilled


class SegmentedFetch:
    """Fetch the incomplete ranges of ``part.segments`` at once (see the module docstring).

    Args:
        url: The file's URL.
        part: The part file, locked, its version known and :attr:`PartFile.segments` set.
        transport: Opens the requests (the download's own, redirects and proxies included).
        policy: The run's retry policy (each range counts its own failures against it).
        sleep: The backoff sleeper.
        clock: For ``Retry-After`` dates.
        throttle: The rate limit of the whole download.
        meter: Progress of the whole download.
        floor: The lowest-speed rule, applied to all ranges together.
        on_progress: Told each progress report.
        notice: Told what happened (retries).
        copy_chunk_bytes: The most bytes a copying thread moves between two accountings.
        save_seconds: How often the checkpoint is saved while the ranges arrive.
    """

    def __init__(
        self,
        url: str,
        part: PartFile,
        transport: Transports,
        *,
        policy: RetryPolicy,
        sleep: Sleep,
        clock: Clock,
        throttle: Throttle,
        meter: ProgressMeter,
        floor: SpeedFloor,
        on_progress: Callable[[Progress], None] | None,
        notice: Callable[[Notice], None],
        copy_chunk_bytes: int,
        save_seconds: float = SAVE_SECONDS,
    ) -> None:
        assert part.segments is not None
        self.url = url
        self.part = part
        self.segments = part.segments
        self.transport = transport
        self.policy = policy
        self.sleep = sleep
        self.clock = clock
        self.throttle = throttle
        self.meter = meter
        self.floor = floor
        self.on_progress = on_progress
        self.notice = notice
        self.copy_chunk_bytes = copy_chunk_bytes
        self.save_seconds = save_seconds
        self.attempts = 0  # requests made for ranges (the first answer is the caller's)
        self.start_present = present(self.segments)
        self._sinks: list[_SegmentSink] = []
        self._saving = asyncio.Lock()

    @property
    def received(self) -> int:
        """Body bytes received for the ranges (re-sent ones included)."""
        return sum(sink.received for sink in self._sinks)

    def tick(self) -> None:
        """Progress and the lowest-speed rule over all ranges (on the event loop); asked before
        each read, so it also checks the fence (a takeover stops every range)."""
        self.part.check_fence()
        done = present(self.segments)
        report = self.meter.update(done)
        if report is not None and self.on_progress is not None:
            self.on_progress(report)
        self.floor.check(done, self.throttle.rate)

    async def save(self) -> None:
        """Save a checkpoint naming what every range holds now (after an fdatasync)."""
        async with self._saving:
            ranges = segments_state(self.segments)  # taken first: never more than is synced
            await asyncio.to_thread(self.part.save_segments, ranges)

    async def run(self, first: Response | None = None) -> None:
        """Fetch every incomplete range; ``first``: an accepted answer to ``bytes=0-`` whose
        body fills the first range.

        Raises:
            RestartFromZero: A range's answer is not about the same version (or ignores ranges).
            RetryLaterError: Transient trouble outlasted the run's retries.
        """
        self.meter.restart(self.start_present)
        self.floor.restart(self.start_present)
        await self.save()
        fds: list[int] = []
        try:
            for segment in self.segments:
                fds.append(self.part.segment_fd())
                self._sinks.append(_SegmentSink(self, segment, fds[-1]))
            workers = [
                asyncio.create_task(self._fetch_range(sink, first if i == 0 else None))
                for i, sink in enumerate(self._sinks)
                if not sink.segment.complete
            ]
            saver = asyncio.create_task(self._keep_saving())
            try:
                await _first_failure(workers)
            except BaseException:
                await _stop([*workers, saver])
                with contextlib.suppress(OSError):  # the failure in flight says more
                    await self.save()
                raise
            await _stop([saver])
            await self.save()
        finally:
            for fd in fds:
                os.close(fd)

    async def _keep_saving(self) -> None:
        while True:
            await asyncio.sleep(self.save_seconds)  # pacing the checkpoints, real time
            await self.save()

    def _headers(self, segment: Segment) -> dict[str, str]:
        validator = strong_etag(self.part.etag) or self.part.last_modified
        headers = {
            "Accept-Encoding": "identity",
            "Range": f"bytes={segment.done}-{segment.end - 1}",
        }
        if validator is not None:
            headers["If-Range"] = validator
        return headers

    def _check(self, segment: Segment, response: ResponseHead) -> None:
        """Accept a ``206`` for this range of this version; raise for anything else."""
        status, headers, part = response.status, response.headers, self.part
        if status in TRANSIENT_STATUSES:
            wait = parse_retry_after(headers.get("Retry-After"), self.clock.utc())
            raise TransientStatusError(status, response.reason or "", wait)
        if status == 200:
            changed = (part.etag is not None and headers.get("ETag") != part.etag) or (
                part.last_modified is not None
                and headers.get("Last-Modified") != part.last_modified
            )
            raise RestartFromZero(
                Notice.RESTARTED_RESOURCE_CHANGED if changed else Notice.RESTARTED_NO_RANGES
            )
        if status == 416:
            raise RestartFromZero(Notice.RESTARTED_RESOURCE_CHANGED)
        if status != 206:
            raise RemoteError(f"{self.url}: the server answered {status} {response.reason}")
        check_partial(
            headers,
            start=segment.done,
            etag=part.etag,
            last_modified=part.last_modified,
            total=part.total,
        )

    async def _pour(self, sink: _SegmentSink, response: Response) -> None:
        os.lseek(sink.fd, sink.segment.done, os.SEEK_SET)
        with contextlib.suppress(_SegmentFilled):
            await response.pour(sink)

    async def _fetch_range(self, sink: _SegmentSink, first: Response | None) -> None:
        """Fetch one range to its end, asking again from where a broken answer stopped."""
        segment = sink.segment
        while not segment.complete:
            before = segment.done
            try:
                if first is not None:
                    response, first = first, None
                    await self._pour(sink, response)
                else:
                    self.attempts += 1
                    async with self.transport.open(self.url, self._headers(segment)) as response:
                        self._check(segment, response)
                        await self._pour(sink, response)
                if not segment.complete:
                    raise BodyEndedError("the body of a range ended early")
            except Exception as exc:
                if isinstance(exc, RestartFromZero) or not is_transient(exc):
                    raise
                await self._retry_later(sink.budget, exc, moved=segment.done > before)

    async def _retry_later(self, budget: RetryBudget, exc: Exception, *, moved: bool) -> None:
        try:
            delay = budget.failed(exc, moved=moved)
        except RetryLaterError as final:
            progressed = present(self.segments) > self.start_present
            raise RetryLaterError(str(final), progressed=progressed) from exc
        if isinstance(exc, TooSlowError):
            self.floor.restart(present(self.segments))
        _log.info("%s: a range failed (%s); retrying in %.1f s", self.url, exc or type(exc), delay)
        self.notice(Notice.RETRIED)
        await self.sleep(delay)


async def _first_failure(tasks: list[asyncio.Task[None]]) -> None:
    """Wait for every task; raise the first failure as soon as one fails."""
    pending = set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait until each has ended (a copying thread is out of the file)."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
