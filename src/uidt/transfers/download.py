"""Resumable HTTP(S) download into a file, safe against stops, kills and flaky servers.

:func:`download` writes ``<dest>.part`` and a sidecar checkpoint ``<dest>.uidt`` (JSON: URL,
validator, durable offset, SHA-256 of that prefix). Every ``checkpoint_bytes`` or
``checkpoint_seconds`` the part file is fsynced *first* and the checkpoint saved *second*, so the
checkpointed offset never runs ahead of bytes on disk; a SIGKILL loses at most one interval.
The next run truncates the part file to the checkpointed offset (later bytes are untrusted) and
asks for the rest with ``Range`` + ``If-Range``.

Hashing: ``hashlib`` state cannot be saved, so the checkpoint stores the hex digest of the
durable prefix. When ``sha256`` is requested, a resume re-hashes the prefix from disk (about
0.5 s/GiB), compares it with the stored digest and restarts from zero if they differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp
from yarl import URL

from uidt.clock import Clock, SystemClock
from uidt.errors import IntegrityError, NoSpaceError, RemoteError, TransferError
from uidt.transfers.checkpoint import Checkpoint, fsync_directory
from uidt.transfers.notices import Notice
from uidt.transfers.progress import Progress, ProgressMeter
from uidt.transfers.retry import (
    TRANSIENT_ERRORS,
    TRANSIENT_STATUSES,
    RetryPolicy,
    Sleep,
    TransientStatusError,
    parse_retry_after,
)

_log = logging.getLogger(__name__)

MiB = 1024 * 1024
PART_SUFFIX = ".part"
CHECKPOINT_SUFFIX = ".uidt"
_STATE_VERSION = 1
_HASH_BLOCK = 4 * MiB


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


def part_path(dest: Path) -> Path:
    """Where the partial data of ``dest`` lives."""
    return dest.with_name(dest.name + PART_SUFFIX)


def checkpoint_path(dest: Path) -> Path:
    """Where the checkpoint of ``dest`` lives."""
    return dest.with_name(dest.name + CHECKPOINT_SUFFIX)


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
    """One call of :func:`download`: the part file, its checkpoint and the HTTP attempts."""

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
        self.part = part_path(dest)
        self.checkpoint = Checkpoint(checkpoint_path(dest))
        self.expected = sha256.lower() if sha256 else None
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
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.total: int | None = None
        self.durable = 0  # bytes fsynced and recorded in the checkpoint
        self.written = 0  # bytes written to the part file
        self.hasher: Any = None  # hashlib object covering [0, written) when hashing
        self.file: IO[bytes] | None = None
        self.last_commit_ms = 0
        self.received = 0
        self.attempts = 0
        self.resumed_from = 0

    # -- notices and checkpoints -----------------------------------------------------------
    def notice(self, notice: Notice) -> None:
        if notice not in self.notices:
            self.notices.append(notice)
        _log.info("%s: %s", self.dest, notice.text)
        if self.on_notice is not None:
            self.on_notice(notice)

    def state(self) -> dict[str, Any]:
        return {
            "version": _STATE_VERSION,
            "kind": "download",
            "url": self.url,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "total": self.total,
            "offset": self.written,
            "sha256_prefix": self.hasher.hexdigest() if self.hasher is not None else None,
        }

    def commit(self) -> None:
        """fsync the part file, then record its length in the checkpoint."""
        if self.file is None:
            return
        self.file.flush()
        os.fsync(self.file.fileno())
        self.checkpoint.save(self.state())
        self.durable = self.written
        self.last_commit_ms = self.clock.elapsed()

    def close_file(self, *, commit: bool) -> None:
        if self.file is None:
            return
        try:
            if commit:
                self.commit()
        finally:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None

    # -- resume ----------------------------------------------------------------------------
    async def load_resume_point(self) -> None:
        state = self.checkpoint.load()
        if state is None:
            return
        offset = state.get("offset")
        usable = (
            state.get("version") == _STATE_VERSION
            and state.get("kind") == "download"
            and state.get("url") == self.url
            and isinstance(offset, int)
            and offset >= 0
        )
        try:
            part_size = self.part.stat().st_size
        except FileNotFoundError:
            part_size = -1
        if not usable or not isinstance(offset, int) or part_size < offset:
            if state.get("url") == self.url:
                self.notice(Notice.RESTARTED_BAD_CHECKPOINT)
            return
        if self.expected is not None and offset > 0:
            digest = await asyncio.to_thread(_hash_prefix, self.part, offset)
            stored = state.get("sha256_prefix")
            if stored is not None and digest.hexdigest() != stored:
                self.notice(Notice.RESTARTED_BAD_CHECKPOINT)
                return
            self.hasher = digest
        self.etag = state.get("etag")
        self.last_modified = state.get("last_modified")
        total = state.get("total")
        self.total = total if isinstance(total, int) else None
        self.written = self.durable = offset
        self.resumed_from = offset

    def restart_from_zero(self, notice: Notice) -> None:
        self.close_file(commit=False)
        self.written = self.durable = 0
        self.hasher = None
        self.etag = self.last_modified = None
        self.total = None
        self.notice(notice)

    # -- one HTTP attempt ------------------------------------------------------------------
    def request_headers(self) -> dict[str, str]:
        headers = {"Accept-Encoding": "identity"}
        if self.written > 0:
            headers["Range"] = f"bytes={self.written}-"
            validator = self.validator()
            if validator is not None:
                headers["If-Range"] = validator
        return headers

    def validator(self) -> str | None:
        if self.etag and not self.etag.startswith("W/"):
            return self.etag
        return self.last_modified

    async def attempt(self) -> bool:
        """Fetch from the current offset; True when the file is complete."""
        self.attempts += 1
        headers = self.request_headers()
        async with self.session.get(
            self.url, headers=headers, max_redirects=self.max_redirects
        ) as response:
            status = response.status
            if status == 416 and self.written > 0:
                return self.handle_416(response)
            if status in TRANSIENT_STATUSES:
                wait = parse_retry_after(response.headers.get("Retry-After"), self.clock.utc())
                raise TransientStatusError(status, response.reason or "", wait)
            if status >= 400 or status not in (200, 206):
                raise RemoteError(f"{self.url}: the server answered {status} {response.reason}")
            self.accept_response(response, status)
            await self.receive(response)
        if self.total is not None and self.written < self.total:
            raise aiohttp.ClientPayloadError("the body ended early")
        return True

    def handle_416(self, response: aiohttp.ClientResponse) -> bool:
        content_range = response.headers.get("Content-Range", "")
        complete = content_range == f"bytes */{self.written}" and self.total in (None, self.written)
        if complete and response.headers.get("ETag") in (None, self.etag):
            return True
        raise _RestartFromZero(Notice.RESTARTED_RESOURCE_CHANGED)

    def accept_response(self, response: aiohttp.ClientResponse, status: int) -> None:
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        if status == 200 and self.written > 0:
            changed = (self.etag and etag != self.etag) or (
                not self.etag and self.last_modified and last_modified != self.last_modified
            )
            raise _RestartFromZero(
                Notice.RESTARTED_RESOURCE_CHANGED if changed else Notice.RESTARTED_NO_RANGES
            )
        if status == 206:
            start, total = _parse_content_range(response.headers.get("Content-Range"))
            if start != self.written or (self.etag and etag and etag != self.etag):
                raise _RestartFromZero(Notice.RESTARTED_RESOURCE_CHANGED)
            self.total = total
        else:
            length = response.content_length
            self.total = length if length is not None and status == 200 else None
        self.etag, self.last_modified = etag, last_modified
        if self.total is not None and self.on_estimate is not None:
            self.on_estimate(self.total)
        self.meter.total = self.total
        self.check_free_space()
        self.open_part()

    def check_free_space(self) -> None:
        if self.total is None:
            return
        remaining = self.total - self.written
        free = shutil.disk_usage(self.part.parent).free
        if remaining > free:
            raise NoSpaceError(
                errno.ENOSPC,
                f"{self.dest}: {remaining} bytes still to download but only {free} free",
                str(self.part.parent),
            )

    def open_part(self) -> None:
        if self.written == 0:
            self.file = open(self.part, "wb")  # noqa: SIM115 - closed by close_file
            if self.expected is not None:
                self.hasher = hashlib.sha256()
        else:
            self.file = open(self.part, "r+b")  # noqa: SIM115 - closed by close_file
            self.file.truncate(self.written)
            self.file.seek(self.written)
        self.commit()

    async def receive(self, response: aiohttp.ClientResponse) -> None:
        assert self.file is not None
        self.meter.restart(self.written)
        write = self.file.write
        hasher = self.hasher
        async for chunk in response.content.iter_any():
            write(chunk)
            if hasher is not None:
                hasher.update(chunk)
            size = len(chunk)
            self.written += size
            self.received += size
            if self.written - self.durable >= self.checkpoint_bytes or (
                self.clock.elapsed() - self.last_commit_ms >= self.checkpoint_ms
            ):
                self.commit()
            report = self.meter.update(self.written)
            if report is not None and self.on_progress is not None:
                self.on_progress(report)

    # -- the run ---------------------------------------------------------------------------
    async def run(self) -> DownloadResult:
        try:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            await self.load_resume_point()
            if self.written > 0:
                self.notice(Notice.RESUMED)
            await self.fetch()
            return await self.finish()
        except TransferError:
            raise
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise NoSpaceError(errno.ENOSPC, f"{self.dest}: no space left", str(exc)) from exc
            raise TransferError(
                exc.errno, f"{self.dest}: cannot write the file ({exc.strerror or exc})"
            ) from exc

    async def fetch(self) -> None:
        """Make HTTP attempts until the part file is complete, retrying transient errors."""
        failures = 0
        while True:
            before = self.written
            try:
                if await self.attempt():
                    return
            except _RestartFromZero as restart:
                self.restart_from_zero(restart.notice)
                continue
            except aiohttp.TooManyRedirects as exc:
                raise RemoteError(f"{self.url}: too many redirects (a loop?)") from exc
            except aiohttp.InvalidURL as exc:
                raise TransferError(f"bad URL {self.url!r}: {exc}") from exc
            except TRANSIENT_ERRORS as exc:
                self.close_file(commit=True)
                failures = 1 if self.written > before else failures + 1
                if failures > self.policy.retries:
                    raise _final_error(self.url, exc) from exc
                retry_after = getattr(exc, "retry_after", None)
                delay = self.policy.delay(failures, retry_after)
                _log.info("%s: %s; retrying in %.1f s", self.url, exc or type(exc), delay)
                self.notice(Notice.RETRIED)
                await self.sleep(delay)
            finally:
                self.close_file(commit=True)

    async def finish(self) -> DownloadResult:
        digest: str | None = None
        if self.expected is not None:
            hasher = self.hasher or await asyncio.to_thread(_hash_prefix, self.part, self.written)
            digest = hasher.hexdigest()
            if digest != self.expected:
                with contextlib.suppress(FileNotFoundError):
                    self.part.unlink()
                self.checkpoint.remove()
                raise IntegrityError(
                    f"{self.dest}: SHA-256 is {digest}, expected {self.expected}; "
                    "the partial file was deleted"
                )
        os.replace(self.part, self.dest)
        fsync_directory(self.dest.parent)
        self.checkpoint.remove()
        if self.on_progress is not None:
            self.on_progress(self.meter.snapshot())
        return DownloadResult(
            path=self.dest,
            size=self.written,
            sha256=digest,
            resumed_from=self.resumed_from,
            bytes_received=self.received,
            attempts=self.attempts,
            notices=tuple(self.notices),
        )


def _final_error(url: str, exc: BaseException) -> TransferError:
    if isinstance(exc, TransientStatusError):
        return RemoteError(f"{url}: the server kept answering {exc}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransferError(f"{url}: cannot reach {exc.host}:{exc.port} ({exc.os_error})")
    return TransferError(f"{url}: gave up after repeated errors ({type(exc).__name__}: {exc})")


def _parse_content_range(value: str | None) -> tuple[int, int | None]:
    """``bytes START-END/TOTAL`` → ``(START, TOTAL or None)``; garbage gives ``(-1, None)``."""
    if not value or not value.startswith("bytes "):
        return -1, None
    span, _, total = value[len("bytes ") :].partition("/")
    first = span.partition("-")[0]
    if not first.isdigit():
        return -1, None
    return int(first), int(total) if total.isdigit() else None


def _hash_prefix(path: Path, length: int) -> Any:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        remaining = length
        while remaining > 0:
            block = handle.read(min(_HASH_BLOCK, remaining))
            if not block:
                break
            hasher.update(block)
            remaining -= len(block)
    return hasher


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
        checkpoint_bytes: fsync and checkpoint after this many new bytes.
        checkpoint_seconds: ... or after this much time, whichever comes first.
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
