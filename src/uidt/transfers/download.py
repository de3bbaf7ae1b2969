"""Resumable HTTP(S) download into a file: :func:`download`, the engine's public entry.

It checks the arguments and runs one :class:`~uidt.transfers.downloadrun.DownloadRun` (how the
attempts, retries, restarts, checkpoints and the segmented mode work is told there).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from uidt.clock import Clock, SystemClock
from uidt.errors import SettingsError, TransferError
from uidt.redact import redact_error
from uidt.transfers.autosplit import AutoSplit
from uidt.transfers.downloadresult import DownloadResult
from uidt.transfers.downloadrun import DownloadRun, MiB
from uidt.transfers.fence import Fence
from uidt.transfers.http import check_url
from uidt.transfers.notices import Notice
from uidt.transfers.progress import Progress
from uidt.transfers.request import RequestOptions
from uidt.transfers.retry import RetryPolicy, Sleep
from uidt.transfers.segments import AUTO_SPLIT, MAX_SPLIT, MIN_SPLIT_SIZE, Split
from uidt.transfers.speedfloor import LOWEST_SPEED, LOWEST_SPEED_SECONDS, SpeedFloor
from uidt.transfers.throttle import Throttle

if TYPE_CHECKING:
    import aiohttp

__all__ = ["DownloadResult", "MiB", "download"]


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
    fence: Fence | None = None,
    mirrors: Sequence[str] = (),
    split: Split = 1,
    min_split_size: int = MIN_SPLIT_SIZE,
    auto_split: AutoSplit | None = None,
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
        fence: On a shared job store, the destination's fence naming this run's lease
            (:mod:`uidt.transfers.fence`): raised before the first byte, checked while
            writing; a run another host took over stops with :class:`FencedOffError`.
        mirrors: Other URLs of the same file (``--mirror``): a partial file one of them left
            is resumed from when ``url`` answers the ``Range`` request under the recorded
            validator (``If-Range``: the same strong ETag, or the same Last-Modified, and the
            same size); otherwise the download restarts from zero
            (:attr:`Notice.RESTARTED_OTHER_SOURCE`).
            With several connections it limits their sum.
        split: Connections one file may use at most (aria2's ``--split``; 1, the default: one).
            Above 1 the first request asks for ``bytes=0-`` and, when the server answers
            ``206`` with a validator, the file is fetched as that many byte ranges at once
            (:mod:`uidt.transfers.segmented`). ``"auto"``: one connection first, more only while
            each added one measurably raises the rate (:mod:`uidt.transfers.autosplit`).
        min_split_size: No range is smaller than this (aria2's ``--min-split-size``, 20 MiB):
            a file under twice this size takes one connection whatever ``split`` says.
        auto_split: The probe and trial windows of ``split="auto"`` (the defaults: 0.5 s and
            2 MiB of probe, 0.6 s trials, none unless the rest takes 4 s or more).

    Returns:
        A :class:`DownloadResult`.

    Raises:
        SettingsError: ``lowest_speed``, ``lowest_speed_seconds``, ``split`` or
            ``min_split_size`` is out of range.
        RetryLaterError: Trouble that may pass (network errors, timeouts, 5xx/429, the
            lowest-speed rule) outlasted the retries of this run; ``progressed`` says whether
            the run stored new bytes. The download service asks to run again later.
        RemoteError: The server answered 4xx or redirected in a loop;
            :class:`InconsistentServerError` when it kept contradicting itself (fewer bytes
            than announced) past the retries.
        ResourceChangedError: The file changed on the server at every try, past the retries.
        InsecureRedirectError: ``https://`` redirected to ``http://`` (not allowed).
        DestinationBusyError: Another process is downloading to ``dest`` (its pid is named).
        FencedOffError: Another host of the fleet took the transfer over (with ``fence``).
        UnsafeFileError: A file at ``dest.part`` is another user's and cannot be removed.
        IntegrityError: The SHA-256 did not match (the partial file is deleted).
        NoSpaceError: The remaining bytes do not fit, or the disk filled up while writing.
        TransferError: A bad URL.
    """
    try:
        check_url(url)
    except TransferError as exc:
        raise redact_error(exc) from None
    if split != AUTO_SPLIT and not (isinstance(split, int) and 1 <= split <= MAX_SPLIT):
        raise SettingsError(f"split must be 1 to {MAX_SPLIT} connections or auto, not {split}")
    if min_split_size < 1:
        raise SettingsError(f"min_split_size must be at least 1 byte, not {min_split_size}")
    clock = clock or SystemClock()
    floor = SpeedFloor(lowest_speed, lowest_speed_seconds, clock)
    policy = retries if isinstance(retries, RetryPolicy) else RetryPolicy(retries=retries)
    job = DownloadRun(
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
        split=split,
        min_split_size=min_split_size,
        fence=fence,
        mirrors=mirrors,
        auto=auto_split or AutoSplit(),
    )
    try:
        return await job.run()
    except TransferError as exc:  # its message may quote the URL: no password in it
        raise redact_error(exc) from exc.__cause__
