"""Resumable HTTP(S) download into a file, safe against stops, kills and flaky servers.

:func:`download` asks for the file (``Range`` + ``If-Range`` when resuming), writes it through a
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
whole new file, so its body is written from byte 0 rather than asked for again. Retries, restarts and attempts too slow for the
lowest-speed rule (:mod:`uidt.transfers.speedfloor`) are bounded by one
:class:`~uidt.transfers.retry.RetryBudget`, so a run always ends: with the file, with a
:class:`~uidt.errors.RetryLaterError` when trouble that may pass outlasted it, or with a
:class:`~uidt.errors.TransferError` that says why.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from uidt.clock import Clock, SystemClock
from uidt.errors import NoSpaceError, RemoteError, RetryLaterError, TransferError
from uidt.redact import redact_error
from uidt.timing import mark
from uidt.transfers.bodysink import BodySink
from uidt.transfers.failures import (
    TransientStatusError,
    classify,
    is_transient,
    permanent_error,
)
from uidt.transfers.http import ResponseHead, check_url
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import PartFile
from uidt.transfers.progress import Progress, ProgressMeter
from uidt.transfers.request import RequestOptions
from uidt.transfers.resumecheck import RestartFromZero, ResumeRequest
from uidt.transfers.retry import (
    TRANSIENT_STATUSES,
    RetryBudget,
    RetryPolicy,
    Sleep,
    parse_retry_after,
)
from uidt.transfers.speedfloor import (
    LOWEST_SPEED,
    LOWEST_SPEED_SECONDS,
    SpeedFloor,
)
from uidt.transfers.throttle import Throttle
from uidt.transfers.transport import Transports

if TYPE_CHECKING:
    import aiohttp

_log = logging.getLogger(__name__)

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """What a finished download produced.

    Attributes:
        path: The final file.
        size: Its size in bytes.
        sha256: Its SHA-256 (hex) if one was requested and verified, else ``None``.
        resumed_from: The offset this run started at (0 for a fresh download).
        bytes_received: Body bytes this run received (re-sent bytes included).
        attempts: HTTP requests made for the body.
        notices: What happened on the way (resume, restarts, retries).
    """

    path: Path
    size: int
    sha256: str | None
    resumed_from: int
    bytes_received: int
    attempts: int
    notices: tuple[Notice, ...] = field(default=())


class _Download:
    """One call of :func:`download`: the HTTP attempts feeding one :class:`PartFile`."""

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
    ) -> None:
        self.url = url
        self.dest = dest
        self.expected = sha256.lower() if sha256 else None
        self.part = PartFile(
            dest, url, hashing=self.expected is not None, clock=clock, final_mode=final_mode
        )
        self.transport = Transports(
            raw_http=raw_http,
            session=session,
            read_timeout=read_timeout,
            max_redirects=max_redirects,
            allow_insecure_redirect=allow_insecure_redirect,
            request=request,
        )
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
        self.attempts += 1
        mark("download.attempt")
        async with self.transport.open(self.url, self.resume.headers()) as response:
            if self.accept_head(response):
                self.sink.start()
                await response.pour(self.sink)
        self.resume.check_finished()

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
        self.check_free_space()
        part.open()

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

    # -- the run ---------------------------------------------------------------------------
    async def run(self) -> DownloadResult:
        mark("download.run")
        try:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            resumed = await self.part.resume()
            if resumed is not None:
                self.notice(resumed)
            self.resumed_from = self.part.written
            await self.fetch()
            mark("download.fetched")
            digest = await self.part.publish(self.expected)
            mark("download.published")
        except Exception as exc:
            kind = classify(exc)  # None: already a TransferError, or not a transfer failure
            if kind is None or kind.transient:
                raise
            raise permanent_error(exc, url=self.url, dest=self.dest) from exc
        finally:
            self.part.release()  # a no-op after publish; else the next run may take over
            await self.transport.aclose()
        if self.on_progress is not None:
            self.meter.update(self.part.written)
            self.on_progress(self.meter.snapshot())
        return DownloadResult(
            path=self.dest,
            size=self.part.written,
            sha256=digest,
            resumed_from=self.resumed_from,
            bytes_received=self.sink.received,
            attempts=self.attempts,
            notices=tuple(self.notices),
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


async def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    session: aiohttp.ClientSession | None = None,
    raw_http: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    on_estimate: Callable[[int], None] | None = None,
    on_notice: Callable[[Notice], None] | None = None,
    checkpoint_bytes: int = 64 * MiB,
    checkpoint_seconds: float = 5.0,
    record_seconds: float = 1.0,
    lowest_speed: int = LOWEST_SPEED,
    lowest_speed_seconds: float = LOWEST_SPEED_SECONDS,
    max_redirects: int = 10,
    allow_insecure_redirect: bool = False,
    request: RequestOptions | None = None,
    mode: int | None = None,
    read_timeout: float = 60.0,
    retries: RetryPolicy | int = 6,
    clock: Clock | None = None,
    sleep: Sleep = asyncio.sleep,
    throttle: Throttle | None = None,
) -> DownloadResult:
    """Download ``url`` to ``dest``, resuming a previous partial run if there is one.

    The final file appears only when complete (and, with ``sha256``, verified). Cancelling the
    task leaves ``dest.part`` and ``dest.uidt`` consistent, so calling again resumes.

    Args:
        url: An http:// or https:// URL.
        dest: The final path.
        sha256: Expected hex SHA-256 of the whole file.
        session: An ``aiohttp`` session to use (created and closed here when needed if
            ``None``); create it with ``auto_decompress=False``, e.g. :func:`new_session`.
            Given one, ``https://`` goes through it (its connector's TLS settings).
        raw_http: Receive ``http://`` and ``https://`` bodies with uidt's own HTTP/1.1
            reader, which copies them to the file in a thread (``splice(2)``, or TLS records
            decrypted into a reused buffer: :mod:`uidt.transfers.rawbody`); redirects and
            chunked bodies go through ``aiohttp`` either way. ``False`` sends everything
            through ``aiohttp``.
        on_progress: Called a few times a second with a :class:`Progress`.
        on_estimate: Called with the total size once the server says it.
        on_notice: Called with each :class:`Notice` (resumed, restarted, retried).
        checkpoint_bytes: The most received bytes that no checkpoint names yet (the reader
            waits for the checkpoints beyond that). Checkpoints are saved in the background
            every half of this (see :mod:`uidt.transfers.partfile`). A kill in the same boot
            makes the next run fetch nothing it wrote again (it keeps the part file's tail).
        checkpoint_seconds: At least this often a checkpoint is durable (fdatasync first); one
            is also durable every 2 MiB, at most four a second, so a crash or power cut of the
            machine makes the next run fetch again at most about 2 MiB or a quarter second of
            transfer, whichever is more (and never more than this long a stretch).
        record_seconds: The most time of transfer that no checkpoint names yet: a recorded
            checkpoint (no fsync: cheap) starts every half of this when ``checkpoint_bytes``
            has not come first.
        lowest_speed: Bytes per second an attempt must average over each window of
            ``lowest_speed_seconds``; a slower one is ended and retried like a timeout, and the
            run fails after the retries ("the transfer stayed below 1.0 KiB/s for 60 s, 7
            times"). 0 turns the rule off (see :mod:`uidt.transfers.speedfloor`).
        lowest_speed_seconds: The window of ``lowest_speed``.
        max_redirects: Redirects followed before giving up.
        allow_insecure_redirect: Follow a redirect from ``https://`` to ``http://`` (refused
            by default: :class:`~uidt.errors.InsecureRedirectError`).
        request: The user's header fields and TLS choices (:mod:`uidt.transfers.request`),
            sent by both readers; secret fields only to the URL's origin unless trusted.
        mode: Permission bits of the published file (default: what this process's umask
            gives a new file). ``dest.part`` and ``dest.uidt`` are 0600 until then.
        read_timeout: Seconds of silence from the server before the attempt is retried (for
            the splice reader and for a session created here).
        retries: A :class:`RetryPolicy`, or just its ``retries`` (statuses, slow attempts and
            restarts in a row; link errors keep the policy's ``link_retries``).
        clock: Time source for progress and checkpoint timing.
        sleep: Backoff sleeper (tests inject one that does not wait).
        throttle: The rate limit (:class:`~uidt.transfers.throttle.Throttle`; ``None``: none).
            Its limits may change while the body arrives; they apply to the next chunk.

    Returns:
        A :class:`DownloadResult`.

    Raises:
        SettingsError: ``lowest_speed`` or ``lowest_speed_seconds`` is out of range.
        RetryLaterError: Trouble that may pass (network errors, timeouts, 5xx/429, the
            lowest-speed rule) outlasted the retries of this run; ``progressed`` says whether
            the run stored new bytes. The download service asks to run again later.
        RemoteError: The server answered 4xx or redirected in a loop;
            :class:`InconsistentServerError` when it kept contradicting itself (fewer bytes
            than announced) past the retries.
        ResourceChangedError: The file changed on the server at every try, past the retries.
        InsecureRedirectError: ``https://`` redirected to ``http://`` (not allowed).
        DestinationBusyError: Another process is downloading to ``dest`` (its pid is named).
        UnsafeFileError: A file at ``dest.part`` is another user's and cannot be removed.
        IntegrityError: The SHA-256 did not match (the partial file is deleted).
        NoSpaceError: The remaining bytes do not fit, or the disk filled up while writing.
        TransferError: A bad URL.
    """
    try:
        check_url(url)
    except TransferError as exc:
        raise redact_error(exc) from None
    clock = clock or SystemClock()
    floor = SpeedFloor(lowest_speed, lowest_speed_seconds, clock)
    policy = retries if isinstance(retries, RetryPolicy) else RetryPolicy(retries=retries)
    job = _Download(
        url,
        Path(dest),
        sha256=sha256,
        session=session,
        raw_http=raw_http,
        on_progress=on_progress,
        on_estimate=on_estimate,
        on_notice=on_notice,
        checkpoint_bytes=checkpoint_bytes,
        checkpoint_ms=int(checkpoint_seconds * 1000),
        record_ms=int(record_seconds * 1000),
        floor=floor,
        max_redirects=max_redirects,
        allow_insecure_redirect=allow_insecure_redirect,
        request=request,
        final_mode=mode,
        read_timeout=read_timeout,
        policy=policy,
        clock=clock,
        sleep=sleep,
        throttle=throttle,
    )
    try:
        return await job.run()
    except TransferError as exc:  # its message may quote the URL: no password in it
        raise redact_error(exc) from exc.__cause__
