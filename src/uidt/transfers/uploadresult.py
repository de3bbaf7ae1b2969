"""What an upload may do and what it did: the caller's :class:`TusPolicy`, the :class:`UploadMode`
the bytes went up in, the :class:`UploadResult`, and :class:`TusUnsupportedError` for a server
without tus when tus was required. :mod:`uidt.transfers.upload` re-exports them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from uidt.errors import RemoteError
from uidt.transfers.notices import Notice

__all__ = ["TusPolicy", "TusUnsupportedError", "UploadMode", "UploadResult"]


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
