"""One upload run (:class:`UploadRun`): tus rounds that resume from the server's offset, or one
plain body request, with retries counted as a download counts them.

:func:`uidt.transfers.upload.upload` (the public entry) opens the source and the session and hands
them here; the run asks ``OPTIONS`` for tus, creates or finds the upload, sends the rest with
``PATCH`` until the server holds every byte, and falls back to one plain ``PUT``/``POST`` where
the caller allows it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TypeVar

import aiohttp

from uidt.clock import Clock
from uidt.errors import InconsistentServerError, RetryLaterError
from uidt.redact import redact
from uidt.transfers.failures import is_transient
from uidt.transfers.notices import Notice
from uidt.transfers.progress import Progress, ProgressMeter
from uidt.transfers.request import RequestOptions
from uidt.transfers.retry import RetryBudget, RetryPolicy, Sleep
from uidt.transfers.throttle import Throttle
from uidt.transfers.tus import OffsetWatch, TusClient, UploadGoneError, check_status
from uidt.transfers.uploadresult import TusPolicy, TusUnsupportedError, UploadMode, UploadResult
from uidt.transfers.uploadsend import BodyRequests
from uidt.transfers.uploadsource import SourceFile
from uidt.transfers.uploadstate import UploadCheckpoint

_log = logging.getLogger("uidt.transfers.upload")
_T = TypeVar("_T")

#: Seconds the server may take no bytes of a body, or give no answer (``sendfile`` path).
READ_TIMEOUT_S = 60.0


class UploadRun:
    """One run of :func:`~uidt.transfers.upload.upload` (its arguments already checked)."""

    def __init__(
        self,
        source: SourceFile,
        url: str,
        *,
        session: aiohttp.ClientSession,
        checkpoint: Path,
        metadata: Mapping[str, str],
        plain_method: str,
        tus: TusPolicy,
        request: RequestOptions | None,
        on_progress: Callable[[Progress], None] | None,
        on_estimate: Callable[[int], None] | None,
        on_notice: Callable[[Notice], None] | None,
        policy: RetryPolicy,
        clock: Clock,
        sleep: Sleep,
        throttle: Throttle | None,
        raw_http: bool,
    ) -> None:
        self.source = source.path
        self.url = url
        self.session = session
        self.client = TusClient(session, url, clock, request)
        self.metadata = metadata
        self.plain_method = plain_method
        self.tus = tus
        self.on_progress = on_progress
        self.on_estimate = on_estimate
        self.on_notice = on_notice
        self.policy = policy
        self.budget = RetryBudget(url, policy)
        self.sleep = sleep
        self.throttle = throttle if throttle is not None else Throttle()
        self.size = source.size
        self.checkpoint = UploadCheckpoint(checkpoint, url, self.size, source.mtime_ns)
        self.bodies = BodyRequests(
            self.client,
            source,
            self.throttle,
            raw_http=raw_http,
            read_timeout=READ_TIMEOUT_S,
            on_sent=self.sent_bytes,
        )
        self.meter = ProgressMeter(clock, total=self.size)
        self.notices: list[Notice] = []
        self.sent = 0
        self.attempts = 0
        self.resumed_from: int | None = None
        self.watch: OffsetWatch | None = None
        self.gained_at_failure = 0  # the watch's gain when the last failure was counted
        self.progressed = False  # did the server acknowledge new bytes during this run?

    def notice(self, notice: Notice) -> None:
        if notice not in self.notices:
            self.notices.append(notice)
        _log.info("%s: %s", self.source, notice.text)
        if self.on_notice is not None:
            self.on_notice(notice)

    # -- retries ---------------------------------------------------------------------------
    async def failed(self, exc: BaseException) -> None:
        """Count a transient failure against the run's budget, then wait before the next try.

        Progress is what the server acknowledged (the offset it reports grew since the last
        failure), not what left this machine: a server that drops what it receives is no
        progress, and a plain request that broke off kept nothing.

        Raises:
            RetryLaterError: The budget is used up (trouble that may pass: run again later).
        """
        gained = self.watch.gained if self.watch is not None else 0
        moved, self.gained_at_failure = gained > self.gained_at_failure, gained
        try:
            delay = self.budget.failed(exc, moved=moved)
        except RetryLaterError as final:
            raise RetryLaterError(str(final), progressed=self.progressed) from exc
        _log.info("%s: %s; retrying in %.1f s", redact(self.url), exc or type(exc), delay)
        self.notice(Notice.RETRIED)
        await self.sleep(delay)

    async def attempt(self, step: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``step`` until it returns, retrying transient errors within the budget."""
        while True:
            try:
                return await step()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                await self.failed(exc)

    def sent_bytes(self, count: int, reached: int) -> None:
        """``count`` more body bytes went out; the file's offset ``reached`` (on the loop)."""
        self.sent += count
        report = self.meter.update(reached)
        if report is not None and self.on_progress is not None:
            self.on_progress(report)

    # -- tus -------------------------------------------------------------------------------
    def watch_upload(self, upload_url: str, *, created: bool) -> OffsetWatch:
        self.watch = OffsetWatch(upload_url, self.size, 0 if created else None, self.policy.retries)
        self.gained_at_failure = 0
        return self.watch

    def server_said(self, watch: OffsetWatch, offset: int) -> None:
        if watch.reported(offset):
            self.notice(Notice.RESENT_LOST)
        self.progressed = self.progressed or watch.gained > 0

    async def tus_round(self, upload_url: str, watch: OffsetWatch) -> bool:
        """Ask the server's offset and send the rest; True when the server has every byte."""
        offset = await self.client.offset(upload_url)
        self.server_said(watch, offset)
        if self.resumed_from is None:
            self.resumed_from = offset
            if offset > 0:
                self.notice(Notice.RESUMED)
        if offset == self.size:
            return True
        self.attempts += 1
        self.meter.restart(offset)
        length = self.size - offset
        new_offset = await self.client.patch(upload_url, offset, length, self.bodies.send, watch)
        if new_offset is None:
            return False  # offsets disagree, or the answer did not say: ask HEAD again
        self.server_said(watch, new_offset)
        return new_offset == self.size

    async def run_tus(self, upload_url: str | None) -> str:
        watch = None if upload_url is None else self.watch_upload(upload_url, created=False)
        idle_rounds = 0  # rounds that ended without an error and without progress
        while True:
            try:
                if upload_url is None or watch is None:
                    upload_url = await self.client.create(self.size, self.metadata)
                    self.checkpoint.save(upload_url)
                    watch = self.watch_upload(upload_url, created=True)
                gained = watch.gained
                if await self.tus_round(upload_url, watch):
                    return upload_url
            except UploadGoneError:
                self.notice(Notice.RESTARTED_UPLOAD_GONE)
                self.checkpoint.remove()
                upload_url = watch = None
                delay = self.budget.restarted(Notice.RESTARTED_UPLOAD_GONE)
                if delay:
                    await self.sleep(delay)
                continue
            except Exception as exc:
                if not is_transient(exc):
                    raise
                await self.failed(exc)
                continue
            idle_rounds = 0 if watch.gained > gained else idle_rounds + 1
            if idle_rounds > self.policy.retries:
                raise InconsistentServerError(
                    f"{upload_url}: the tus server keeps rejecting the upload"
                )

    # -- plain -----------------------------------------------------------------------------
    async def put_once(self) -> None:
        """One plain request with the whole file: what breaks off is sent again from zero."""
        self.attempts += 1
        self.meter.restart(0)
        # Only the length: a presigned URL (S3, GCS) may sign Content-Type among the fields,
        # so uidt adds none of its own; the user gives one with -H when the server wants it.
        headers = {"Content-Length": str(self.size)}
        async with self.bodies.send(self.plain_method, self.url, headers, 0, self.size) as resp:
            check_status(resp, self.url, self.plain_method, self.client.clock)

    # -- the run ---------------------------------------------------------------------------
    async def run(self) -> UploadResult:
        if self.on_estimate is not None:
            self.on_estimate(self.size)
        upload_url = self.checkpoint.load(self.notice)
        mode = UploadMode.TUS
        if upload_url is None and not await self.attempt(self.client.offers_tus):
            if self.tus is TusPolicy.REQUIRE:
                raise TusUnsupportedError(
                    f"{self.url}: the server does not speak tus 1.0 (its OPTIONS answer offers no "
                    "tus creation), and tus was required; nothing was sent"
                )
            mode = UploadMode.PLAIN
            self.notice(Notice.NO_TUS)
            await self.attempt(self.put_once)
            target = self.url
        else:
            target = await self.run_tus(upload_url)
            self.checkpoint.remove()
        last = self.meter.final(self.size)
        if last is not None and self.on_progress is not None:
            self.on_progress(last)
        return UploadResult(
            source=self.source,
            url=target,
            size=self.size,
            mode=mode,
            resumed_from=self.resumed_from or 0,
            bytes_sent=self.sent,
            attempts=self.attempts,
            notices=tuple(self.notices),
        )
