"""Transfers: the resumable HTTP engine and the built-in transfer app.

The engine is usable on its own (``await download(url, dest)``, ``await upload(path, url)``)
and by the built-in services. Names are imported lazily so that importing
``uidt.transfers.jobs`` (the CLI does) does not pay for ``aiohttp``.

``download`` and ``upload`` are both a function and the module that defines it. Importing a
submodule makes Python bind it on its package, which would make ``from uidt.transfers import
upload`` give the module; :class:`_Package` refuses that binding for those two names, so they
always mean the functions (the modules stay reachable with ``from uidt.transfers.upload
import ...`` and in ``sys.modules``).
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

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

#: Public functions named like the module that defines them.
_FUNCTIONS_NAMED_LIKE_MODULES = frozenset({"download", "upload"})


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FUNCTIONS_NAMED_LIKE_MODULES and isinstance(value, types.ModuleType):
            return  # the import system binding the submodule: keep the function visible
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
