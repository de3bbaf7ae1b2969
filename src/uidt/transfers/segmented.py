"""Several connections, one file: :class:`SegmentedFetch`.

A download with ``split`` other than 1 (``uidt download --split N|auto``, aria2's option) asks
its first request for ``Range: bytes=0-``. When the answer is a ``206`` for the whole file with
a validator (a strong ETag or a Last-Modified date) and the file is at least twice
``min_split_size`` (:func:`~uidt.transfers.rangeanswer.plan_from_answer`), ``--split N`` makes
the part file ``total`` bytes long and fetches the file as N byte ranges at once: the first
answer's body fills the first range, one more request per range fetches the others, each
written at its own offset through a descriptor of its own. ``--split auto`` takes the first
answer as one connection does and comes here only when a trial of more connections is due
(:mod:`uidt.transfers.autoswitch`), its first answer going on as the first range.

A connection whose range is done takes the next range nobody fetches; when there is none, it
takes the far half of the slowest busy range, if that range, at its measured rate, still needs
a second or more (:func:`~uidt.transfers.autosplit.worth_resplitting`) and both halves are at
least ``min_split_size``: the range's end moves back past the read in flight (its connection
stops exactly there, :mod:`uidt.transfers.rangeclaims`) and the new range follows it in the
list, so the ranges stay contiguous. Under ``auto`` a
:class:`~uidt.transfers.autosplit.SplitGovernor` adds connections (each on the far half of the
range with most left) while each added one raises the total rate, or closes the one added last
(its range is taken up by the next connection that is free).

Every range's answer is checked against the first one before a byte of it is written: a
``206`` whose ``Content-Range`` starts where asked, names the same total, with the same ETag
and Last-Modified (:func:`~uidt.transfers.resumecheck.check_partial`), and each request says
``If-Range``. A ``200`` of the same version (the server ignores ``Range``) to the range after
one whose answer runs through it (``auto``'s first, to ``bytes=0-``) closes that connection
and gives its range back: the first goes on to its end. Any other ``200`` (or one of another
version), a ``416``, another version or another start ends the segmented attempt with
:class:`~uidt.transfers.resumecheck.RestartFromZero`: the engine throws the part file away and
goes on over one connection, so bytes of two versions are never mixed. A range whose body ends
early, or whose connection fails, is asked for again from where it stopped, within a
:class:`~uidt.transfers.retry.RetryBudget` of its own (the run's policy).

The checkpoint (kind ``download-segments``, :mod:`uidt.transfers.rangesave`) names each range's
``done`` end, so a resumed run asks each range only for what is missing. The file is published
only when every range is complete (and hashed from disk then, when a SHA-256 is expected). The
rate limit is one :class:`~uidt.transfers.throttle.Throttle` for all ranges (each range's
reader has a :class:`~uidt.transfers.throttle.ThrottleLane` of it); progress and the
lowest-speed rule count the bytes of all ranges together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Sequence

from uidt.clock import Clock
from uidt.errors import RetryLaterError
from uidt.transfers.autosplit import AutoSplit, Phase, SplitGovernor, Verdict
from uidt.transfers.failures import is_transient
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import PartFile
from uidt.transfers.progress import Progress, ProgressMeter
from uidt.transfers.rangeanswer import check_range_answer, range_headers
from uidt.transfers.rangeclaims import RangesRefused, claim_range, give_back
from uidt.transfers.rangepick import WAIT, Wait
from uidt.transfers.rangesave import SAVE_SECONDS, RangeCheckpoints, RangeWriteback
from uidt.transfers.rangesink import RangeSink, SegmentFilled, read_size
from uidt.transfers.rangesources import RangeSource
from uidt.transfers.rawhttp import BodyEndedError
from uidt.transfers.resumecheck import RestartFromZero
from uidt.transfers.retry import (
    RetryBudget,
    RetryPolicy,
    Sleep,
)
from uidt.transfers.segments import (
    MiB,
    Segment,
    present,
    split_count,
)
from uidt.transfers.speedfloor import SpeedFloor, TooSlowError
from uidt.transfers.throttle import Throttle
from uidt.transfers.transport import Response, Transports

_log = logging.getLogger(__name__)

#: How often ``--split auto`` reads the rate.
GOVERN_SECONDS = 0.1
#: How often an idle connection looks again for a range to take while a busy range's rate is
#: still being measured.
IDLE_SECONDS = 0.1


class SegmentedFetch:
    """Fetch the incomplete ranges of ``part.segments`` at once (see the module docstring).

    Args:
        url: The file's URL.
        part: The part file, locked, its version known and :attr:`PartFile.segments` set.
        transport: Opens the requests (the download's own, redirects and proxies included).
        policy: The run's retry policy (each connection counts its own failures against it).
        sleep: The backoff sleeper.
        clock: For ``Retry-After`` dates, the rates of the ranges and ``auto``'s readings.
        throttle: The rate limit of the whole download.
        meter: Progress of the whole download.
        floor: The lowest-speed rule, applied to all ranges together.
        on_progress: Told each progress report.
        notice: Told what happened (retries).
        copy_chunk_bytes: The most bytes a copying thread moves between two accountings.
        connections: The most connections at once (``auto``: where the governor may grow to).
        least: No range is cut into parts under this (``min_split_size``).
        auto: ``--split auto``'s settings: start with one connection and let a
            :class:`~uidt.transfers.autosplit.SplitGovernor` add more; ``None``: start with
            ``connections`` at once.
        governor: ``auto``'s governor when one connection ran before the ranges began
            (:mod:`uidt.transfers.autoswitch`): it goes on measuring, and a trial it asked for
            opens at once.
        mirrors: Other sources fit for ranges (:func:`~uidt.transfers.rangesources.vet_mirrors`):
            the connections ask the URL and each of them in turn.
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
        connections: int,
        least: int,
        auto: AutoSplit | None = None,
        governor: SplitGovernor | None = None,
        mirrors: Sequence[RangeSource] = (),
        save_seconds: float = SAVE_SECONDS,
    ) -> None:
        assert part.segments is not None
        self.url = url
        self.part = part
        self.segments = part.segments
        self.transport = transport
        first = RangeSource(url, transport, part.etag, part.last_modified, part.total)
        #: Where the connections ask, in turn: the URL, then each mirror fit for ranges.
        self.sources = [first, *mirrors]
        self.policy = policy
        self.sleep = sleep
        self.clock = clock
        self.throttle = throttle
        self.meter = meter
        self.floor = floor
        self.on_progress = on_progress
        self.notice = notice
        self.copy_chunk_bytes = copy_chunk_bytes
        self.connections = connections
        self.least = least
        self.attempts = 0  # requests made for ranges (the first answer is the caller's)
        self.most_connections = 0  # the most connections that fetched at once
        self.start_present = present(self.segments)
        total = self.part.total or 0
        self.governor = governor or (
            None
            if auto is None
            else SplitGovernor(
                auto,
                max_connections=split_count(total, auto.max_connections, least),
                total=total,
            )
        )
        self._sinks: list[RangeSink] = []
        self._workers: list[tuple[asyncio.Task[None], RangeSink]] = []
        self._fds: list[int] = []
        self.refused = False  # a range was answered whole: no more ranges are asked for
        self._changed = asyncio.Event()  # a connection was added
        self.checkpoints = RangeCheckpoints(part, self.segments, save_seconds)
        self._writeback = RangeWriteback()

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

    async def run(self, first: Response | None = None) -> None:
        """Fetch every incomplete range; ``first``: an accepted answer to ``bytes=0-`` whose
        body fills the first range.

        Raises:
            RestartFromZero: A range's answer is not about the same version (or ignores ranges).
            RetryLaterError: Transient trouble outlasted the run's retries.
        """
        self.meter.restart(self.start_present)
        self.floor.restart(self.start_present)
        await self.checkpoints.save()
        helpers: list[asyncio.Task[None]] = []
        try:
            incomplete = sum(not segment.complete for segment in self.segments)
            start = 1 if self.governor is not None else min(self.connections, incomplete)
            for i in range(start):
                self._add_connection(first if i == 0 else None)
            helpers.append(asyncio.create_task(self.checkpoints.keep_saving()))
            if self.governor is not None:
                if self.governor.phase is Phase.TRIAL:  # asked for before the ranges began
                    self._act(self.governor, Verdict.ADD)
                helpers.append(asyncio.create_task(self._govern(self.governor)))
            try:
                await self._supervise(helpers)
            except BaseException:
                await _stop([*(task for task, _ in self._workers), *helpers])
                with contextlib.suppress(OSError):  # the failure in flight says more
                    await self.checkpoints.save()
                raise
            await _stop(helpers)
            await self.checkpoints.save()
        finally:
            self._writeback.close()  # its last requests name these descriptors
            for fd in self._fds:
                os.close(fd)

    # -- the connections -------------------------------------------------------------------
    def _add_connection(self, first: Response | None = None, *, grow: bool = False) -> bool:
        """Start one more connection on a range of its own; ``False`` when there is none."""
        sink = next((s for s in self._sinks if not s.busy and s not in self._live()), None)
        if sink is None:
            self._fds.append(self.part.segment_fd())
            source = self.sources[len(self._sinks) % len(self.sources)]
            sink = RangeSink(
                self._fds[-1],
                source,
                budget=RetryBudget(source.url, self.policy),
                lane=self.throttle.lane(),  # the shared limit; stopping one frees no other
                copy_chunk_bytes=read_size(self.copy_chunk_bytes, self.least),
                tick=self.tick,
                clock=self.clock,
                writeback=self._writeback.start,
            )
            self._sinks.append(sink)
        segment = self._next_range(grow=grow)
        if not isinstance(segment, Segment):
            return False
        sink.take(segment)
        task = asyncio.create_task(self._work(sink, first))
        self._workers.append((task, sink))
        self.most_connections = max(self.most_connections, len(self._live()))
        self._changed.set()
        return True

    def _live(self) -> list[RangeSink]:
        return [sink for task, sink in self._workers if not task.done()]

    def _next_range(self, *, grow: bool = False) -> Segment | Wait | None:
        return claim_range(self.segments, self._sinks, least=self.least, grow=grow, url=self.url)

    async def _work(self, sink: RangeSink, first: Response | None) -> None:
        """One connection: its range, then the next one it can take, until none is left."""
        try:
            while True:
                try:
                    await self._fetch_range(sink, first)
                except RangesRefused:
                    return  # its range went back to the connection before it
                first = None
                sink.busy = False
                while not self.refused:
                    segment = self._next_range()
                    if segment is not WAIT:
                        break
                    await asyncio.sleep(IDLE_SECONDS)  # pacing the look, real time
                if self.refused or not isinstance(segment, Segment):
                    return  # no range left (or none the server would send as a range)
                sink.take(segment)
        finally:
            sink.busy = False  # a connection handed back: its range is free for the others

    async def _supervise(self, helpers: list[asyncio.Task[None]]) -> None:
        """Wait until every range is complete; raise the first failure of any task at once."""
        while True:
            for task in [*(task for task, _ in self._workers), *helpers]:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            live = [task for task, _ in self._workers if not task.done()]
            if not live:
                if any(not segment.complete for segment in self.segments):
                    # a range handed back after the others ended: nobody fetches it now
                    added = self._add_connection()
                    assert added, "an incomplete range that no connection may take"
                    continue
                return
            self._changed.clear()
            changed = asyncio.create_task(self._changed.wait())
            try:
                running = [task for task in helpers if not task.done()]
                await asyncio.wait([*live, *running, changed], return_when=asyncio.FIRST_COMPLETED)
            finally:
                changed.cancel()

    async def _govern(self, governor: SplitGovernor) -> None:
        """``--split auto``: read the rate and add or hand back connections as told."""
        while not governor.settled:
            await asyncio.sleep(GOVERN_SECONDS)  # pacing the readings; the clock measures
            self._act(governor, governor.observe(self.clock.elapsed(), present(self.segments)))

    def _act(self, governor: SplitGovernor, verdict: Verdict) -> None:
        """Add or hand back connections as ``verdict`` says."""
        if verdict is Verdict.ADD:
            opened = sum(self._add_connection(grow=True) for _ in range(governor.step))
            if opened < governor.step:
                governor.opened(opened)
        elif verdict is Verdict.DROP:
            self._drop_last(governor.step)
        if verdict is not Verdict.WAIT:
            rate, count = governor.rates[-1] / MiB, governor.connections
            _log.info("%s: %.1f MiB/s; %s: %d connections", self.url, rate, verdict.value, count)

    def _drop_last(self, count: int) -> None:
        """Close the ``count`` connections added last (their ranges go back to the others)."""
        live = [(task, sink) for task, sink in self._workers if not task.done()]
        for task, sink in live[max(1, len(live) - count) :]:
            sink.dropped = True  # its copying thread stops too (not only the task)
            task.cancel()

    # -- one range -------------------------------------------------------------------------
    async def _pour(self, sink: RangeSink, response: Response) -> None:
        os.lseek(sink.fd, sink.segment.done, os.SEEK_SET)
        with contextlib.suppress(SegmentFilled):
            await response.pour(sink)

    async def _fetch_range(self, sink: RangeSink, first: Response | None) -> None:
        """Fetch one range to its end, asking again from where a broken answer stopped."""
        segment = sink.segment
        while not segment.complete:
            before = segment.done
            try:
                if first is not None:
                    response, first = first, None
                    sink.body_end = self.part.total or 0  # the answer to bytes=0-
                    await self._pour(sink, response)
                else:
                    self.attempts += 1
                    source = sink.source
                    headers = range_headers(source, segment)
                    async with source.transport.open(source.url, headers) as response:
                        self._check(sink, response)
                        sink.body_end = segment.end
                        await self._pour(sink, response)
                if not segment.complete:
                    raise BodyEndedError("the body of a range ended early")
            except Exception as exc:
                if isinstance(exc, RestartFromZero) or not is_transient(exc):
                    raise
                await self._retry_later(sink.budget, exc, moved=segment.done > before)

    def _check(self, sink: RangeSink, response: Response) -> None:
        """Check a range's answer; under ``auto`` one that ignores ``Range`` (a ``200`` of the
        same version) drops this connection when its range can go back to the one before it
        (``--split N`` asks for its ranges at once: which could go back would be a race)."""
        try:
            check_range_answer(sink.source, sink.segment, response, self.clock)
        except RestartFromZero as exc:
            governor = self.governor
            if governor is None or exc.notice is not Notice.RESTARTED_NO_RANGES:
                raise
            if not give_back(self.segments, self._sinks, sink):
                raise
            _log.info("%s: a range was answered whole: its connection closed", self.url)
            self.refused = True
            governor.stop()
            raise RangesRefused from exc

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


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait until each has ended (a copying thread is out of the file)."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
