"""Resumable HTTP(S) download into a file, safe against stops, kills and flaky servers.

:func:`download` asks for the file (``Range`` + ``If-Range`` when resuming), writes it through a
:class:`~uidt.transfers.partfile.PartFile` (``<dest>.part`` + checkpoint ``<dest>.uidt``,
committed every ``checkpoint_bytes`` or ``checkpoint_seconds``), retries transient failures
within the run from the current offset, and renames the verified file into place at the end.
A 200 where a 206 was asked for means the file changed or the server cannot resume: the run
restarts from zero and says so (:class:`~uidt.transfers.notices.Notice`).
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
from typing import Any

import aiohttp
from yarl import URL

from uidt.clock import Clock, SystemClock
from uidt.errors import NoSpaceError, RemoteError, TransferError
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import PartFile
from uidt.transfers.progress import Progress, ProgressMeter
from uidt.transfers.retry import (
    TRANSIENT_ERRORS,
    TRANSIENT_STATUSES,
    RetryPolicy,
    Sleep,
    TransientStatusError,
    final_error,
    parse_retry_after,
)

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


def check_url(url: str) -> URL:
    """Parse ``url``; raise :class:`TransferError` unless it is an absolute http(s) URL."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError) as exc:
        raise TransferError(f"bad URL {url!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise TransferError(f"bad URL {url!r}: only absolute http:// and https:// URLs work")
    return parsed


class _RestartFromZero(Exception):
    def __init__(self, notice: Notice) -> None:
        super().__init__(notice.value)
        self.notice = notice


class _Download:
    """One call of :func:`download`: the HTTP attempts feeding one :class:`PartFile`."""

    def __init__(
        self,
        url: str,
        dest: Path,
        *,
        sha256: str | None,
        session: aiohttp.ClientSession,
        on_progress: Callable[[Progress], None] | None,
        on_estimate: Callable[[int], None] | None,
        on_notice: Callable[[Notice], None] | None,
        checkpoint_bytes: int,
        checkpoint_ms: int,
        max_redirects: int,
        policy: RetryPolicy,
        clock: Clock,
        sleep: Sleep,
    ) -> None:
        self.url = url
        self.dest = dest
        self.expected = sha256.lower() if sha256 else None
        self.part = PartFile(dest, url, hashing=self.expected is not None, clock=clock)
        self.session = session
        self.on_progress = on_progress
        self.on_estimate = on_estimate
        self.on_notice = on_notice
        self.checkpoint_bytes = checkpoint_bytes
        self.checkpoint_ms = checkpoint_ms
        self.max_redirects = max_redirects
        self.policy = policy
        self.clock = clock
        self.sleep = sleep
        self.meter = ProgressMeter(clock)
        self.notices: list[Notice] = []
        self.received = 0
        self.attempts = 0
        self.resumed_from = 0

    def notice(self, notice: Notice) -> None:
        if notice not in self.notices:
            self.notices.append(notice)
        _log.info("%s: %s", self.dest, notice.text)
        if self.on_notice is not None:
            self.on_notice(notice)

    # -- one HTTP attempt ------------------------------------------------------------------
    def request_headers(self) -> dict[str, str]:
        headers = {"Accept-Encoding": "identity"}
        part = self.part
        if part.written > 0:
            headers["Range"] = f"bytes={part.written}-"
            validator = part.etag if part.etag and not part.etag.startswith("W/") else None
            validator = validator or part.last_modified
            if validator is not None:
                headers["If-Range"] = validator
        return headers

    async def attempt(self) -> None:
        """Fetch from the current offset to the end of the file."""
        self.attempts += 1
        headers = self.request_headers()
        async with self.session.get(
            self.url, headers=headers, max_redirects=self.max_redirects
        ) as response:
            status = response.status
            if status == 416 and self.part.written > 0:
                self.check_complete(response)
                return
            if status in TRANSIENT_STATUSES:
                wait = parse_retry_after(response.headers.get("Retry-After"), self.clock.utc())
                raise TransientStatusError(status, response.reason or "", wait)
            if status not in (200, 206):
                raise RemoteError(f"{self.url}: the server answered {status} {response.reason}")
            self.accept_response(response, status)
            await self.receive(response)
        total = self.part.total
        if total is not None and self.part.written < total:
            raise aiohttp.ClientPayloadError("the body ended early")

    def check_complete(self, response: aiohttp.ClientResponse) -> None:
        """A 416 for ``bytes=N-`` is fine when the file is exactly N bytes and unchanged."""
        part = self.part
        content_range = response.headers.get("Content-Range", "")
        complete = content_range == f"bytes */{part.written}" and part.total in (None, part.written)
        if not complete or response.headers.get("ETag") not in (None, part.etag):
            raise _RestartFromZero(Notice.RESTARTED_RESOURCE_CHANGED)

    def accept_response(self, response: aiohttp.ClientResponse, status: int) -> None:
        part = self.part
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        if status == 200 and part.written > 0:
            changed = (part.etag and etag != part.etag) or (
                not part.etag and part.last_modified and last_modified != part.last_modified
            )
            raise _RestartFromZero(
                Notice.RESTARTED_RESOURCE_CHANGED if changed else Notice.RESTARTED_NO_RANGES
            )
        if status == 206:
            start, total = _parse_content_range(response.headers.get("Content-Range"))
            if start != part.written or (part.etag and etag and etag != part.etag):
                raise _RestartFromZero(Notice.RESTARTED_RESOURCE_CHANGED)
            part.total = total
        else:
            part.total = response.content_length
        part.etag, part.last_modified = etag, last_modified
        if part.total is not None and self.on_estimate is not None:
            self.on_estimate(part.total)
        self.meter.total = part.total
        self.check_free_space()
        part.open()

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

    async def receive(self, response: aiohttp.ClientResponse) -> None:
        part = self.part
        self.meter.restart(part.written)
        every_bytes, every_ms = self.checkpoint_bytes, self.checkpoint_ms
        async for chunk in response.content.iter_any():
            part.write(chunk)
            self.received += len(chunk)
            if part.commit_due(every_bytes, every_ms):
                part.start_commit()
            if part.written - part.durable > every_bytes:
                # Back-pressure: never hold more than one interval of bytes a kill would lose.
                part.wait_durable(part.written - every_bytes)
            report = self.meter.update(part.written)
            if report is not None and self.on_progress is not None:
                self.on_progress(report)

    # -- the run ---------------------------------------------------------------------------
    async def run(self) -> DownloadResult:
        try:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            resumed = await self.part.resume()
            if resumed is not None:
                self.notice(resumed)
            self.resumed_from = self.part.written
            await self.fetch()
            digest = await self.part.publish(self.expected)
        except TransferError:
            raise
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise NoSpaceError(errno.ENOSPC, f"{self.dest}: no space left", str(exc)) from exc
            raise TransferError(
                exc.errno, f"{self.dest}: cannot write the file ({exc.strerror or exc})"
            ) from exc
        if self.on_progress is not None:
            self.meter.update(self.part.written)
            self.on_progress(self.meter.snapshot())
        return DownloadResult(
            path=self.dest,
            size=self.part.written,
            sha256=digest,
            resumed_from=self.resumed_from,
            bytes_received=self.received,
            attempts=self.attempts,
            notices=tuple(self.notices),
        )

    async def fetch(self) -> None:
        """Make HTTP attempts until the part file is complete, retrying transient errors."""
        failures = 0
        while True:
            before = self.part.written
            try:
                await self.attempt()
                return
            except _RestartFromZero as restart:
                self.part.reset()
                self.notice(restart.notice)
                continue
            except aiohttp.TooManyRedirects as exc:
                raise RemoteError(f"{self.url}: too many redirects (a loop?)") from exc
            except aiohttp.InvalidURL as exc:
                raise TransferError(f"bad URL {self.url!r}: {exc}") from exc
            except TRANSIENT_ERRORS as exc:
                self.part.close(commit=True)
                failures = 1 if self.part.written > before else failures + 1
                if failures > self.policy.retries:
                    raise final_error(self.url, exc) from exc
                delay = self.policy.delay(failures, getattr(exc, "retry_after", None))
                _log.info("%s: %s; retrying in %.1f s", self.url, exc or type(exc), delay)
                self.notice(Notice.RETRIED)
                await self.sleep(delay)
            finally:
                self.part.close(commit=True)


def _parse_content_range(value: str | None) -> tuple[int, int | None]:
    """``bytes START-END/TOTAL`` → ``(START, TOTAL or None)``; garbage gives ``(-1, None)``."""
    if not value or not value.startswith("bytes "):
        return -1, None
    span, _, total = value[len("bytes ") :].partition("/")
    first = span.partition("-")[0]
    if not first.isdigit():
        return -1, None
    return int(first), int(total) if total.isdigit() else None


def new_session(**kwargs: Any) -> aiohttp.ClientSession:
    """An ``aiohttp`` session configured for transfers (no decompression, long reads)."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)
    return aiohttp.ClientSession(auto_decompress=False, timeout=timeout, **kwargs)


async def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    session: aiohttp.ClientSession | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_estimate: Callable[[int], None] | None = None,
    on_notice: Callable[[Notice], None] | None = None,
    checkpoint_bytes: int = 64 * MiB,
    checkpoint_seconds: float = 5.0,
    max_redirects: int = 10,
    retries: RetryPolicy | int = 6,
    clock: Clock | None = None,
    sleep: Sleep = asyncio.sleep,
) -> DownloadResult:
    """Download ``url`` to ``dest``, resuming a previous partial run if there is one.

    The final file appears only when complete (and, with ``sha256``, verified). Cancelling the
    task leaves ``dest.part`` and ``dest.uidt`` consistent, so calling again resumes.

    Args:
        url: An http:// or https:// URL.
        dest: The final path.
        sha256: Expected hex SHA-256 of the whole file.
        session: An ``aiohttp`` session to use (created and closed here if ``None``); create it
            with ``auto_decompress=False``, e.g. :func:`new_session`.
        on_progress: Called a few times a second with a :class:`Progress`.
        on_estimate: Called with the total size once the server says it.
        on_notice: Called with each :class:`Notice` (resumed, restarted, retried).
        checkpoint_bytes: The most received bytes that are not yet durable: a kill (or a power
            cut) makes the next run fetch at most this many bytes again. Commits (fdatasync +
            checkpoint) run in the background every half of this.
        checkpoint_seconds: ... or a commit starts after this much time, whichever comes first.
        max_redirects: Redirects followed before giving up.
        retries: A :class:`RetryPolicy`, or just the number of retries.
        clock: Time source for progress and checkpoint timing.
        sleep: Backoff sleeper (tests inject one that does not wait).

    Returns:
        A :class:`DownloadResult`.

    Raises:
        RemoteError: The server answered 4xx, kept answering 5xx/429, or redirected in a loop.
        IntegrityError: The SHA-256 did not match (the partial file is deleted).
        NoSpaceError: The remaining bytes do not fit, or the disk filled up while writing.
        TransferError: A bad URL, an unreachable host, or repeated network errors.
    """
    check_url(url)
    policy = retries if isinstance(retries, RetryPolicy) else RetryPolicy(retries=retries)
    own_session = session is None
    active = session if session is not None else new_session()
    try:
        job = _Download(
            url,
            Path(dest),
            sha256=sha256,
            session=active,
            on_progress=on_progress,
            on_estimate=on_estimate,
            on_notice=on_notice,
            checkpoint_bytes=checkpoint_bytes,
            checkpoint_ms=int(checkpoint_seconds * 1000),
            max_redirects=max_redirects,
            policy=policy,
            clock=clock or SystemClock(),
            sleep=sleep,
        )
        return await job.run()
    finally:
        if own_session:
            await active.close()
