"""One download run (:class:`DownloadRun`), safe against stops, kills and flaky servers.

A run of :func:`~uidt.transfers.download.download` asks for the file (``Range`` + ``If-Range`` when resuming), writes it through a
:class:`~uidt.transfers.partfile.PartFile` (``<dest>.part`` + checkpoint ``<dest>.uidt``,
recorded every half ``checkpoint_bytes`` or half ``record_seconds``, durable every 2 MiB at
most four times a second and at least every ``checkpoint_seconds``), retries transient
failures within the run from the current offset, and renames the verified file into place at
the end. Each attempt goes through one seam,
:class:`~uidt.transfers.transport.Transports` (uidt's own reader, splice or TLS, or ``aiohttp``, picked there),
into a :class:`~uidt.transfers.bodysink.BodySink`; what a failed attempt means (retry soon,
retry later, give up) is read from one table, :mod:`uidt.transfers.failures`. Every answer to a resume is checked against
what is known about the file (:mod:`uidt.transfers.resumecheck`): one that cannot continue the
part file (a 200, another version, a short body) restarts from zero and says so
(:class:`~uidt.transfers.notices.Notice`); a 200 to ``If-Range`` naming a new version is the
whole new file, so its body is written from byte 0 rather than asked for again. With
``split`` above 1 a large file whose server takes ranges is fetched over several connections
at once (:mod:`uidt.transfers.segmented`, :mod:`uidt.transfers.rangerun`); with ``auto`` it
is fetched as without ``split`` until a trial of more connections is due
(:mod:`uidt.transfers.autoswitch`). Retries, restarts and attempts too slow for the
lowest-speed rule (:mod:`uidt.transfers.speedfloor`) are bounded by one
:class:`~uidt.transfers.retry.RetryBudget`, so a run always ends: with the file, with a
:class:`~uidt.errors.RetryLaterError` when trouble that may pass outlasted it, or with a
:class:`~uidt.errors.TransferError` that says why.
"""

from __future__ import annotations

import errno
import functools
import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from uidt.clock import Clock
from uidt.errors import IntegrityError, NoSpaceError, RemoteError, RetryLaterError
from uidt.timing import mark
from uidt.transfers.autosplit import AutoSplit
from uidt.transfers.autoswitch import begin_ranges, governor_for, pour_watching
from uidt.transfers.bodysink import BodySink
from uidt.transfers.downloadresult import DownloadResult
from uidt.transfers.failures import (
    TransientStatusError,
    classify,
    is_transient,
    permanent_error,
)
from uidt.transfers.fence import Fence
from uidt.transfers.http import ResponseHead
from uidt.transfers.lockholder import wait_for_orphans
from uidt.transfers.mirrors import options_for
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import PartFile, separate_descriptors
from uidt.transfers.progress import Progress, ProgressMeter
from uidt.transfers.rangeanswer import plan_from_answer
from uidt.transfers.rangerun import fetch_ranges
from uidt.transfers.rangesources import RangeSource
from uidt.transfers.request import RequestOptions
from uidt.transfers.resumecheck import RestartFromZero, ResumeRequest
from uidt.transfers.retry import (
    TRANSIENT_STATUSES,
    RetryBudget,
    RetryPolicy,
    Sleep,
    parse_retry_after,
)
from uidt.transfers.segments import AUTO_SPLIT, Split, present
from uidt.transfers.speedfloor import SpeedFloor
from uidt.transfers.throttle import Throttle
from uidt.transfers.transport import Response, Transports

if TYPE_CHECKING:
    import aiohttp

_log = logging.getLogger(__name__)

MiB = 1024 * 1024


class DownloadRun:
    """One call of :func:`~uidt.transfers.download.download`: the HTTP attempts feeding one
    :class:`PartFile`."""

    def __init__(
        self,
        url: str,
        dest: Path,
        *,
        sha256: str | None,
        session: aiohttp.ClientSession | None,
        raw_http: bool,
        on_progress: Callable[[Progress], None] | None,
        on_estimate: Callable[[int], None] | None,
        on_notice: Callable[[Notice], None] | None,
        checkpoint_bytes: int,
        checkpoint_ms: int,
        record_ms: int,
        floor: SpeedFloor,
        max_redirects: int,
        allow_insecure_redirect: bool,
        request: RequestOptions | None,
        final_mode: int | None,
        read_timeout: float,
        policy: RetryPolicy,
        clock: Clock,
        sleep: Sleep,
        throttle: Throttle | None,
        split: Split,
        min_split_size: int,
        fence: Fence | None,
        mirrors: Sequence[str],
        auto: AutoSplit,
    ) -> None:
        self.url = url
        self.split = split
        self.min_split_size = min_split_size
        self.auto = auto
        self.connections = 1  # the most connections that fetched at once
        self.segment_received = 0  # body bytes the ranges of segmented attempts received
        self.dest = dest
        self.expected = sha256.lower() if sha256 else None
        self.part = PartFile(
            dest,
            url,
            hashing=self.expected is not None,
            clock=clock,
            final_mode=final_mode,
            mirrors=mirrors,
        )
        self.part.fence = self.fence = fence

        def transport_for(source: str) -> Transports:
            # A mirror of another origin gets none of the URL's secret fields.
            options = None if request is None else options_for(request, source, url)
            return Transports(
                raw_http=raw_http,
                session=session,
                read_timeout=read_timeout,
                max_redirects=max_redirects,
                allow_insecure_redirect=allow_insecure_redirect,
                request=options,
            )

        self.transport = transport_for(url)
        self.transport_for = transport_for
        self.mirrors = list(mirrors)
        self.range_mirrors: list[RangeSource] | None = None  # vetted when ranges begin
        self.unvouched_mirrors = False  # a mirror in the ranges shows another ETag
        self.on_progress = on_progress
        self.on_estimate = on_estimate
        self.on_notice = on_notice
        self.policy = policy
        self.clock = clock
        self.sleep = sleep
        self.meter = ProgressMeter(clock)
        self.notices: list[Notice] = []
        self.attempts = 0
        self.resumed_from = 0
        self.budget = RetryBudget(url, policy)  # replaced by each fetch()
        self.attempt_from = 0  # the offset the current attempt's body is written from
        self.zero_range_refused = False  # a 416 to ``bytes=0-``: plain GETs from then on
        self.resume = ResumeRequest(
            self.part, hashing=self.expected is not None, notice=self.notice
        )
        self.sink = BodySink(
            self.part,
            self.resume,
            checkpoint_bytes=checkpoint_bytes,
            record_ms=record_ms,
            checkpoint_ms=checkpoint_ms,
            meter=self.meter,
            floor=floor,
            on_progress=on_progress,
            throttle=throttle,
        )

    def notice(self, notice: Notice) -> None:
        if notice not in self.notices:
            self.notices.append(notice)
        _log.info("%s: %s", self.dest, notice.text)
        if self.on_notice is not None:
            self.on_notice(notice)

    # -- one HTTP attempt ------------------------------------------------------------------
    async def attempt(self) -> None:
        """Fetch from the current offset to the end of the file."""
        mark("download.attempt")
        if self.part.segments is not None:  # a segmented download resumed: every range asks
            total = self.part.total
            if total is not None and self.on_estimate is not None:
                self.on_estimate(total)
            self.meter.total = total
            await fetch_ranges(self, None)
            return
        self.attempts += 1
        fresh = self.part.written == 0
        probing = (
            not self.zero_range_refused
            and self.split != 1
            and separate_descriptors()
            and (fresh or self.split == AUTO_SPLIT)
        )
        if not await self.request(probing=probing, from_zero=probing and fresh):
            # A 416 to ``bytes=0-``: a zero-length file cannot satisfy any range (RFC 9110
            # §14.1.2), so servers such as Go's ``http.ServeContent`` refuse it. Not an error of
            # the file: it is asked for again as a plain GET, without ranges from now on.
            self.zero_range_refused = True
            await self.request(probing=False, from_zero=False)

    async def request(self, *, probing: bool, from_zero: bool) -> bool:
        """One request from the current offset and its body; ``False`` (nothing taken) when
        ``from_zero`` asked for ``bytes=0-`` and the server refused it with a ``416``."""
        headers = self.resume.headers()
        if from_zero:  # a 206 to this says the server takes ranges: see segmented.py
            headers["Range"] = "bytes=0-"
        async with self.transport.open(self.url, headers) as response:
            if from_zero and response.status == 416:
                return False
            segments = (
                plan_from_answer(response, split=self.split, min_split_size=self.min_split_size)
                if probing
                else None
            )
            if segments is not None and self.split != AUTO_SPLIT:
                self.judge_response(response, response.status)
                self.check_free_space()
                self.part.begin_segments(segments)
                await fetch_ranges(self, response)
                return True
            if self.accept_head(response):
                self.sink.start()
                if segments is None:
                    await response.pour(self.sink)
                elif await self.pour_auto(response):  # a trial is due: ranges from here on
                    return True
        self.resume.check_finished()
        return True

    async def pour_auto(self, response: Response) -> bool:
        """``--split auto``: one connection, as without ``--split``, until a trial of more
        is due (:mod:`uidt.transfers.autoswitch`); ``True`` when the ranges took over."""
        assert self.part.total is not None
        governor = governor_for(self.auto, self.part.total, self.min_split_size)
        if not await pour_watching(response, self.sink, governor, self.clock):
            return False
        await begin_ranges(self.part)
        await fetch_ranges(self, response, governor)
        return True

    def accept_head(self, response: ResponseHead) -> bool:
        """Check the status and validators; ``True`` when the body should be received."""
        status = response.status
        if status == 416 and self.part.written > 0:
            return self.resume.check_head(status, response.headers, None)
        if status in TRANSIENT_STATUSES:
            wait = parse_retry_after(response.headers.get("Retry-After"), self.clock.utc())
            raise TransientStatusError(status, response.reason or "", wait)
        if status not in (200, 206):
            raise RemoteError(f"{self.url}: the server answered {status} {response.reason}")
        self.accept_response(response, status)
        return True

    def accept_response(self, response: ResponseHead, status: int) -> None:
        self.judge_response(response, status)
        self.check_free_space()
        self.part.open()

    def judge_response(self, response: ResponseHead, status: int) -> None:
        """Check a 200 or 206 against what is known and adopt its version and total."""
        part = self.part
        try:
            self.resume.check_head(status, response.headers, response.content_length)
        except RestartFromZero as restart:
            if not restart.whole_file:
                raise
            self.restart_with_this_answer(restart.notice)
            self.resume.check_head(status, response.headers, response.content_length)
        if part.total is not None and self.on_estimate is not None:
            self.on_estimate(part.total)
        self.meter.total = part.total

    def restart_with_this_answer(self, notice: Notice) -> None:
        """The answer is the whole new file: forget the part file's bytes and take its body.

        Counted like any restart from zero (past the budget the run ends the same way), but
        without the wait before one: no request is made again.
        """
        self.budget.restarted(notice)
        self.part.reset()  # not open between attempts: nothing to wait for
        self.attempt_from = 0
        self.notice(notice)

    def check_free_space(self) -> None:
        if self.part.total is None:
            return
        remaining = self.part.total - self.part.written
        free = shutil.disk_usage(self.dest.parent).free
        if remaining > free:
            raise NoSpaceError(
                errno.ENOSPC,
                f"{self.dest}: {remaining} bytes still to download but only {free} free",
                str(self.dest.parent),
            )

    async def publish(self) -> str | None:
        """Publish the complete part file (checked against the SHA-256 when one is expected).

        When ranges came from mirrors under another ETag (fit for ranges only because the
        SHA-256 checks the whole file) and the file fails the check, one of them serves other
        bytes: the file (already deleted) is fetched once more from this URL alone.
        """
        try:
            return await self.part.publish(self.expected)
        except IntegrityError:
            if not self.unvouched_mirrors or self.fence is not None:
                raise
        _log.info("%s: ranges from mirrors did not match the SHA-256; again alone", self.url)
        self.range_mirrors, self.unvouched_mirrors = [], False
        self.notice(Notice.RESTARTED_MIRROR_MISMATCH)
        self.part.reset()  # the part file and its checkpoint are gone: forget them too
        await self.part.resume()  # a fresh one, locked again
        await self.fetch()
        return await self.part.publish(self.expected)

    # -- the run ---------------------------------------------------------------------------
    async def run(self) -> DownloadResult:
        mark("download.run")
        try:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            # A worker left by a daemon that died may still hold the lock: wait for it
            lock = functools.partial(wait_for_orphans, self.part.resume)
            if self.fence is None:
                resumed = await lock()
            else:  # a shared store's run: fence the destination first
                resumed = await self.fence.take_over(lock)
            if resumed is not None:
                self.notice(resumed)
            segments = self.part.segments
            self.resumed_from = self.part.written if segments is None else present(segments)
            await self.fetch()
            mark("download.fetched")
            digest = await self.publish()
            mark("download.published")
            outcome = "published"
        except BaseException as exc:
            outcome = type(exc).__name__
            kind = classify(exc) if isinstance(exc, Exception) else None
            if kind is None or kind.transient:
                raise
            raise permanent_error(exc, url=self.url, dest=self.dest) from exc
        finally:
            self.part.release()  # a no-op after publish; else the next run may take over
            if self.fence is not None:
                self.fence.ended(outcome)
            await self.transport.aclose()
            for mirror in self.range_mirrors or ():
                await mirror.transport.aclose()
        last = self.meter.final(self.part.written)
        if last is not None and self.on_progress is not None:
            self.on_progress(last)
        return DownloadResult(
            path=self.dest,
            size=self.part.written,
            sha256=digest,
            resumed_from=self.resumed_from,
            bytes_received=self.sink.received + self.segment_received,
            attempts=self.attempts,
            notices=tuple(self.notices),
            connections=self.connections,
        )

    async def fetch(self) -> None:
        """Make HTTP attempts until the part file is complete, retrying within a budget."""
        budget = self.budget = RetryBudget(self.url, self.policy)
        progressed = False  # did any attempt of this run store new bytes?
        while True:
            self.attempt_from = self.part.written  # 0 after a restart with the attempt's answer
            try:
                await self.attempt()
                return
            except RestartFromZero as restart:
                if self.part.segments is not None:
                    # Never a mixed file: the ranges go, and one connection fetches the rest.
                    self.split = 1
                    _log.info("%s: segmented download abandoned (%s)", self.url, restart)
                await self.part.areset()
                self.notice(restart.notice)
                delay = budget.restarted(restart.notice)
                if delay:
                    await self.sleep(delay)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                await self.part.aclose(commit=True)
                moved = self.part.written > self.attempt_from
                progressed = progressed or moved
                try:
                    delay = budget.failed(exc, moved=moved)
                except RetryLaterError as final:
                    raise RetryLaterError(str(final), progressed=progressed) from exc
                _log.info("%s: %s; retrying in %.1f s", self.url, exc or type(exc), delay)
                self.notice(Notice.RETRIED)
                await self.sleep(delay)
            finally:
                await self.part.aclose(commit=True)
