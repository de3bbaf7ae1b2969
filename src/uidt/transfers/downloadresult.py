"""What a finished download produced: :class:`DownloadResult` (``download()``'s answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from uidt.transfers.notices import Notice


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
        connections: The most connections that fetched the file at once (``--split``).
    """

    path: Path
    size: int
    sha256: str | None
    resumed_from: int
    bytes_received: int
    attempts: int
    notices: tuple[Notice, ...] = field(default=())
    connections: int = 1
