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
(tus) or sends the file again (plain). This module is the public entry (it checks the URL, opens
the source and the session); the run itself is :mod:`uidt.transfers.uploadrun`, its values
:mod:`uidt.transfers.uploadresult`; the protocol's requests and the checks of the offsets the
server reports are in :mod:`uidt.transfers.tus`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import aiohttp

from uidt.clock import Clock, SystemClock
from uidt.errors import TransferError
from uidt.redact import redact_error
from uidt.transfers.failures import Failure, classify, permanent_error
from uidt.transfers.http import check_url, new_session
from uidt.transfers.notices import Notice
from uidt.transfers.progress import Progress
from uidt.transfers.request import RequestOptions
from uidt.transfers.retry import RetryPolicy, Sleep
from uidt.transfers.throttle import Throttle
from uidt.transfers.tus import OFFSET_CONTENT_TYPE, TUS_VERSION, encode_metadata
from uidt.transfers.uploadresult import TusPolicy, TusUnsupportedError, UploadMode, UploadResult
from uidt.transfers.uploadrun import UploadRun
from uidt.transfers.uploadsource import SourceChangedError, SourceFile
from uidt.transfers.uploadstate import UPLOAD_CHECKPOINT_SUFFIX, upload_checkpoint_path

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
        job = UploadRun(
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
