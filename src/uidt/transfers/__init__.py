"""Transfers: the resumable HTTP engine and the built-in transfer app.

The engine is usable on its own (``await download(url, dest)``, ``await upload(path, url)``)
and by the built-in services. Names are imported lazily so that importing
``uidt.transfers.jobs`` (the CLI does) does not pay for ``aiohttp``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.lazy import lazy_attributes

if TYPE_CHECKING:
    from uidt.transfers.checkpoint import Checkpoint
    from uidt.transfers.download import DownloadResult, download
    from uidt.transfers.notices import Notice
    from uidt.transfers.progress import Progress
    from uidt.transfers.retry import RetryPolicy
    from uidt.transfers.upload import TusPolicy, UploadMode, UploadResult, upload

_EXPORTS = {
    "Checkpoint": "uidt.transfers.checkpoint",
    "DownloadResult": "uidt.transfers.download",
    "Notice": "uidt.transfers.notices",
    "Progress": "uidt.transfers.progress",
    "RetryPolicy": "uidt.transfers.retry",
    "TusPolicy": "uidt.transfers.upload",
    "UploadMode": "uidt.transfers.upload",
    "UploadResult": "uidt.transfers.upload",
    "download": "uidt.transfers.download",
    "upload": "uidt.transfers.upload",
}

__all__ = [
    "Checkpoint",
    "DownloadResult",
    "Notice",
    "Progress",
    "RetryPolicy",
    "TusPolicy",
    "UploadMode",
    "UploadResult",
    "download",
    "upload",
]

__getattr__ = lazy_attributes(__name__, _EXPORTS)
