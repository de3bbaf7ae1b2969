"""The checkpoint of a tus upload: which upload on the server holds this file's bytes.

A small JSON file next to the source (``<source>.uidt-upload``), written when the upload is
created and removed when it is complete. A later run resumes from it only when it is the
caller's own file (another user's checkpoint could name their server as the target) and
describes the same upload: the same endpoint and the same file (size and mtime).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from uidt.redact import redact
from uidt.transfers.checkpoint import Checkpoint, UntrustedCheckpoint
from uidt.transfers.notices import Notice

UPLOAD_CHECKPOINT_SUFFIX = ".uidt-upload"
_STATE_VERSION = 1


def upload_checkpoint_path(source: Path) -> Path:
    """The default checkpoint of an upload of ``source`` (next to it)."""
    return source.with_name(source.name + UPLOAD_CHECKPOINT_SUFFIX)


class UploadCheckpoint:
    """The saved upload URL of one file sent to one endpoint.

    Args:
        path: The checkpoint file.
        url: The endpoint the upload was created at (kept without its password).
        size: The file's size.
        mtime_ns: The file's modification time: a file changed since is a new upload.
    """

    def __init__(self, path: Path, url: str, size: int, mtime_ns: int) -> None:
        self.file = Checkpoint(path)
        self.url = url
        self.size = size
        self.mtime_ns = mtime_ns

    def load(self, notice: Callable[[Notice], None]) -> str | None:
        """The upload URL to resume, or ``None`` (``notice`` is told why one was not used)."""
        try:
            state = self.file.load(owner_only=True)
        except UntrustedCheckpoint:
            notice(Notice.RESTARTED_UNTRUSTED_FILES)
            return None
        if state is None:
            return None
        same = (
            state.get("version") == _STATE_VERSION
            and state.get("kind") == "upload"
            and state.get("url") in (redact(self.url), self.url)
            and state.get("size") == self.size
            and state.get("mtime_ns") == self.mtime_ns
        )
        upload_url = state.get("upload_url")
        if not same or not isinstance(upload_url, str):
            notice(Notice.RESTARTED_BAD_CHECKPOINT)
            return None
        return upload_url

    def save(self, upload_url: str) -> None:
        """Record the upload just created."""
        self.file.save(
            {
                "version": _STATE_VERSION,
                "kind": "upload",
                "url": redact(self.url),  # never a password on disk
                "upload_url": upload_url,
                "size": self.size,
                "mtime_ns": self.mtime_ns,
            }
        )

    def remove(self) -> None:
        """The upload is complete, or the server forgot it."""
        self.file.remove()
