"""The file an upload sends, held open and watched so that a change under the upload is caught.

:class:`SourceFile` opens the source once and remembers its size, modification time and
identity (device, inode) as they were when the upload began. Both ways of sending a body (the
``sendfile`` path of :mod:`uidt.transfers.rawupload` and the ``aiohttp`` path's blocks) read
through it and call :meth:`SourceFile.check` after every chunk and once the server has
answered: a file that was truncated, grown, rewritten in place or replaced by another ends the
upload with :class:`SourceChangedError`, a permanent failure. The server then holds, at most, a
body that did not end (the connection is closed before the rest goes out) or a tus upload that
never reaches its length, and the job reads ``failed``, never ``finished``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from uidt.errors import TransferError


class SourceChangedError(TransferError):
    """The file being uploaded changed while it was sent."""


@dataclass(frozen=True, slots=True)
class _Identity:
    size: int
    mtime_ns: int
    dev: int
    ino: int

    @classmethod
    def of(cls, stat: os.stat_result) -> _Identity:
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_dev, stat.st_ino)


class SourceFile:
    """The upload's source, open for reading (use as ``with`` block, or :meth:`close`).

    Args:
        path: The file.

    Raises:
        FileNotFoundError: It does not exist (an ``OSError`` for other reasons).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            self._began = _Identity.of(os.fstat(self.fd))
        except BaseException:
            os.close(self.fd)
            raise

    @property
    def size(self) -> int:
        """The size when the upload began."""
        return self._began.size

    @property
    def mtime_ns(self) -> int:
        """The modification time when the upload began."""
        return self._began.mtime_ns

    def check(self) -> None:
        """Raise :class:`SourceChangedError` if the file is not as it was when the upload began.

        The open file is compared (``fstat``: size and modification time), and the path too
        (``stat``: still the same file, not another one renamed over it).
        """
        now = _Identity.of(os.fstat(self.fd))
        if now.size != self._began.size:
            self._changed(f"its size went from {self._began.size} to {now.size} bytes")
        if now.mtime_ns != self._began.mtime_ns:
            self._changed("it was written to")
        try:
            named = _Identity.of(os.stat(self.path))
        except OSError:
            self._changed("it was removed or renamed")
        if (named.dev, named.ino) != (self._began.dev, self._began.ino):
            self._changed("another file was put in its place")

    def _changed(self, how: str) -> None:
        raise SourceChangedError(
            f"{self.path} changed while it was being uploaded ({how}); the upload was stopped "
            "and is not complete: upload it again once the file is final"
        )

    def read(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes from ``offset`` (``pread``); short only at the file's end."""
        return os.pread(self.fd, size, offset)

    def close(self) -> None:
        """Close the file (twice is fine)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> SourceFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
