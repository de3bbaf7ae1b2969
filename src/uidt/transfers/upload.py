"""Resumable upload with the tus 1.0 protocol (``core`` + ``creation``), plain PUT otherwise.

:func:`upload` asks the server with ``OPTIONS`` whether it speaks tus. If it does, the upload is
created with ``POST`` (``Upload-Length``, ``Upload-Metadata``) and its URL saved in a checkpoint
sidecar, so a later run (after a stop, a crash, a reboot, a run that ran out of retries) asks
``HEAD`` for ``Upload-Offset`` and sends only the rest with ``PATCH``. The server keeps whatever
bytes it received, so nothing has to be fsynced on our side. A server without tus gets one
plain ``PUT`` (or ``POST``) from zero, and the result says so (:attr:`Notice.NO_TUS`), unless
the caller required tus (:attr:`TusPolicy.REQUIRE`): then the upload fails with
:class:`TusUnsupportedError` before sending a byte.

Failures are counted as a download counts them (:class:`~uidt.transfers.retry.RetryBudget`):
link errors wait about a second, statuses back off, and a run used up by trouble that may pass
raises :class:`~uidt.errors.RetryLaterError`; the next run resumes from the server's offset
(tus) or sends the file again (plain). The protocol's requests and the checks of the offsets the
server reports are in :mod:`uidt.transfers.tus`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

import aiohttp

from uidt.clock import Clock, SystemClock
from uidt.errors import InconsistentServerError, RemoteError, RetryLaterError, TransferError
from uidt.redact import redact, redact_error
from uidt.transfers.failures import Failure, classify, is_transient, permanent_error
from uidt.transfers.http import check_url, new_session
from uidt.transfers.notices import Notice
from uidt.transfers.progress import Progress, ProgressMeter
from uidt.transfers.request import RequestOptions
from uidt.transfers.retry import RetryBudget, RetryPolicy, Sleep
from uidt.transfers.throttle import Throttle
from uidt.transfers.tus import (
    OFFSET_CONTENT_TYPE,
    TUS_VERSION,
    OffsetWatch,
    TusClient,
    UploadGoneError,
    check_status,
    encode_metadata,
)
from uidt.transfers.uploadsend import BodyRequests
from uidt.transfers.uploadsource import SourceChangedError, SourceFile
from uidt.transfers.uploadstate import (
    UPLOAD_CHECKPOINT_SUFFIX,
    UploadCheckpoint,
    upload_checkpoint_path,
)

__all__ = [
    "OFFSET_CONTENT_TYPE",
    "TUS_VERSION",
    "UPLOAD_CHECKPOINT_SUFFIX",
    "SourceChangedError",
    "TusPolicy",
    "TusUnsupportedError",
    "UploadMode",
    "UploadResult",
    "encode_metadata",
    "upload",
    "upload_checkpoint_path",
]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Seconds the server may take no bytes of a body, or give no answer (``sendfile`` path).
READ_TIMEOUT_S = 60.0


class UploadMode(StrEnum):
    """How the bytes went up."""

    TUS = "tus"
    PLAIN = "plain"


class TusPolicy(StrEnum):
    """What to do with a server that does not speak tus."""

    PREFER = "prefer"
    """Use tus when the server offers it, else one plain PUT/POST (:attr:`Notice.NO_TUS`)."""
    REQUIRE = "require"
    """Use tus or fail (:class:`TusUnsupportedError`), sending nothing."""


class TusUnsupportedError(RemoteError):
    """tus was required and the server does not offer tus 1.0 with the ``creation`` extension."""


@dataclass(frozen=True, slots=True)
class UploadResult:
    """What a finished upload did.

    Attributes:
        source: The file that was sent.
        url: Where it went (the tus upload URL, or the target of the plain request).
        size: Bytes in the file.
        mode: tus or plain.
        resumed_from: Offset the server already had when this run started.
        bytes_sent: Body bytes this run sent (re-sent bytes included).
        attempts: Body requests made (PATCH or PUT/POST).
        notices: What happened on the way.
    """

    source: Path
    url: str
    size: int
    mode: UploadMode
    resumed_from: int
    bytes_sent: int
    attempts: int
    notices: tuple[Notice, ...] = field(default=())


class _Upload:
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
        if self.on_progress is not None:
            self.meter.update(self.size)
            self.on_progress(self.meter.snapshot())
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


async def upload(
    source: str | os.PathLike[str],
    url: str,
    *,
    session: aiohttp.ClientSession | None = None,
    metadata: Mapping[str, str] | None = None,
    plain_method: str = "PUT",
    tus: TusPolicy = TusPolicy.PREFER,
    request: RequestOptions | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_estimate: Callable[[int], None] | None = None,
    on_notice: Callable[[Notice], None] | None = None,
    retries: RetryPolicy | int = 6,
    clock: Clock | None = None,
    sleep: Sleep = asyncio.sleep,
    throttle: Throttle | None = None,
    raw_http: bool = True,
) -> UploadResult:
    """Upload ``source`` to ``url``, resuming a previous run when the server speaks tus.

    Args:
        source: The local file.
        url: The tus creation endpoint (e.g. ``https://host/files/``) or a plain PUT/POST target.
        session: An ``aiohttp`` session (created and closed here if ``None``).
        metadata: tus ``Upload-Metadata``; defaults to ``{"filename": source.name}``.
        plain_method: ``PUT`` or ``POST`` for a server without tus.
        tus: :attr:`TusPolicy.PREFER` (fall back to ``plain_method``, with a notice) or
            :attr:`TusPolicy.REQUIRE` (fail instead).
        request: The user's header fields and TLS choices (:mod:`uidt.transfers.request`),
            sent with every request (secret ones only to the URL's origin unless trusted).
        checkpoint: Where to keep the upload URL (default ``<source>.uidt-upload``).
        on_progress: Called a few times a second with a :class:`Progress`.
        on_estimate: Called once with the file size.
        on_notice: Called with each :class:`Notice`.
        retries: A :class:`RetryPolicy`, or just the number of retries.
        clock: Time source for progress.
        sleep: Backoff sleeper.
        throttle: The rate limit (``None``: none); it may change while the body is sent.
        raw_http: Send a plain ``http://`` body (straight to the server) with ``sendfile``
            on uidt's own connection (:mod:`uidt.transfers.rawupload`); ``False``: through
            ``aiohttp`` always.

    Returns:
        An :class:`UploadResult`.

    Raises:
        FileNotFoundError: ``source`` does not exist.
        RemoteError: The server refused (4xx) or kept failing (5xx/429).
        SourceChangedError: The file changed (size, contents, replaced) while it was sent.
        TusUnsupportedError: ``tus`` is ``REQUIRE`` and the server does not speak tus.
        ServerCertificateError: The server's TLS certificate was not accepted (no retry).
        TransferError: A bad URL, an unreachable host, or repeated network errors.
    """
    try:
        check_url(url)
    except TransferError as exc:
        raise redact_error(exc) from None
    path = Path(source)
    own_session = session is None
    opened = SourceFile(path)
    active = session if session is not None else new_session()
    try:
        job = _Upload(
            opened,
            url,
            session=active,
            checkpoint=Path(checkpoint) if checkpoint else upload_checkpoint_path(path),
            metadata=metadata if metadata is not None else {"filename": path.name},
            plain_method=plain_method.upper(),
            tus=TusPolicy(tus),
            request=request,
            on_progress=on_progress,
            on_estimate=on_estimate,
            on_notice=on_notice,
            policy=retries if isinstance(retries, RetryPolicy) else RetryPolicy(retries=retries),
            clock=clock or SystemClock(),
            sleep=sleep,
            throttle=throttle,
            raw_http=raw_http,
        )
        return await job.run()
    except TransferError as exc:  # its message may quote the URL: no password in it
        raise redact_error(exc) from exc.__cause__
    except Exception as exc:
        # Only the certificate is worded here: the table's disk wording is a download's.
        if classify(exc) is not Failure.CERTIFICATE:
            raise
        raise redact_error(permanent_error(exc, url=url)) from exc
    finally:
        opened.close()
        if own_session:
            await active.close()
