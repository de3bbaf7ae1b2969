"""A running SHA-256 of a file that another thread is appending to, computed alongside it.

When the body of a download goes socket → file with ``splice(2)`` the bytes never pass through
Python, so they cannot be hashed on the way. :class:`HashFollower` hashes them right behind the
writer instead: the writer says how far the file has grown (:meth:`HashFollower.feed`), and a
thread of its own reads the new bytes back with ``pread`` (they are still in the page cache)
and feeds the hasher. On two cores the hash then costs no wall time as long as hashing keeps up
with the network, instead of running in series with the copy.

Checkpoints need the digest of *exactly* the checkpointed prefix: :meth:`HashFollower.digest_at`
returns a future that is resolved when the follower has hashed up to that offset, with the
digest at that point. Requests are handled in order, so ``feed(n)`` followed by
``digest_at(n)`` always gets the digest of the first ``n`` bytes.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import queue
import threading
from pathlib import Path
from typing import Any

_READ_BLOCK = 4 * 1024 * 1024


class HashFollower:
    """Hashes ``path`` from ``start`` onwards as it grows, in a thread.

    Args:
        path: The file being appended to.
        hasher: A ``hashlib`` object that already covers the first ``start`` bytes.
        start: Where hashing continues.
    """

    def __init__(self, path: Path, hasher: Any, start: int) -> None:
        self.hasher = hasher
        self.position = start
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._requests: queue.SimpleQueue[
            int | tuple[int, concurrent.futures.Future[str]] | None
        ] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="uidt-hash", daemon=True)
        self._thread.start()

    def feed(self, end: int) -> None:
        """The file now holds its bytes up to ``end``: hash them (returns at once)."""
        self._requests.put(end)

    def digest_at(self, offset: int) -> concurrent.futures.Future[str]:
        """A future for the hex digest of the first ``offset`` bytes (fed before this call)."""
        future: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._requests.put((offset, future))
        return future

    def close(self) -> None:
        """Hash what was fed, stop the thread, close the file.

        Raises:
            OSError: Reading the file back failed.
        """
        if self._thread.is_alive():
            self._requests.put(None)
            self._thread.join()
        with contextlib.suppress(OSError):
            os.close(self._fd)
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            request = self._requests.get()
            if request is None:
                return
            if isinstance(request, int):
                self._hash_to(request)
                continue
            offset, future = request
            if self._error is not None:
                future.set_exception(self._error)
            elif offset != self.position:
                future.set_exception(RuntimeError(f"digest at {offset} asked at {self.position}"))
            else:
                future.set_result(self.hasher.copy().hexdigest())

    def _hash_to(self, end: int) -> None:
        while self._error is None and self.position < end:
            try:
                block = os.pread(self._fd, min(_READ_BLOCK, end - self.position), self.position)
            except OSError as exc:
                self._error = exc
                return
            if not block:
                self._error = OSError(f"the file ended at {self.position}, before {end}")
                return
            self.hasher.update(block)
            self.position += len(block)
