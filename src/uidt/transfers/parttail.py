"""How much of a part file beyond its recorded checkpoint a resume may keep: the *tail*.

A recorded checkpoint is started every half ``record_seconds`` (or half ``checkpoint_bytes``),
behind the writes, so a killed writer leaves bytes in ``<dest>.part`` that no checkpoint names
yet: up to about a second of transfer. In the boot that wrote them those bytes are as good as
the recorded prefix, and :meth:`~uidt.transfers.partfile.PartFile.resume` keeps them rather than
fetching them again, because of how the part file is written:

* one writer: the file is locked (``flock``) from before its checkpoint is read until it is
  published, is the user's own, mode 0600, with one link (:mod:`uidt.transfers.safefile`);
* in order: the I/O thread runs the writes and the checkpoint saves in the order they were
  queued, so every byte past a checkpoint's offset was appended after that checkpoint, by the
  writer that saved it, from the answer it had accepted for that checkpoint's remote version;
* a new version truncates first: when the server's file changes, the part file is truncated
  and a checkpoint naming the new version is queued *before* its first byte, so a kill in
  between leaves a file shorter than the old checkpoint's offset (refused as a bad
  checkpoint), never old-version bytes under a new-version checkpoint or the reverse;
* the kernel keeps them: a killed process's writes stay in the page cache, readable by the
  next process, until the machine stops. A crash or power cut starts a new boot, and then
  only the durable prefix is trusted (:class:`~uidt.transfers.ledger.CommitLedger`).

So :func:`trusted_end` keeps the tail only when the checkpoint names the running boot, the part
file is the very file it was saved for (the same device and inode, :func:`file_identity`), the
file is no longer than the total the server announced (a byte past it was not ours), and the
tail has no hole (``SEEK_HOLE``: a writer appends, it never skips; a hole means someone grew
the file with ``ftruncate``). Otherwise the tail is cut off and fetched again, as before.
A hole smaller than one filesystem block at the very end cannot be told from data; only a
process with the user's own rights could make one, and with ``sha256`` the final check (and,
without a strong ETag, the overlap re-fetched before the resume point) still catches it.
"""

from __future__ import annotations

import os


def file_identity(st: os.stat_result) -> str:
    """The device and inode of a file (``"DEV:INO"``), as a checkpoint names its part file."""
    return f"{st.st_dev}:{st.st_ino}"


def has_hole(fd: int, start: int, end: int) -> bool:
    """Whether ``[start, end)`` of ``fd`` holds a hole, or that cannot be told (``True``).

    Moves ``fd``'s file position (the caller seeks before writing).
    """
    try:
        return os.lseek(fd, start, os.SEEK_HOLE) < end
    except OSError:  # e.g. ENXIO past the end, EINVAL where seeking for holes is refused
        return True


def trusted_end(fd: int, *, recorded: int, total: int | None) -> int:
    """Where the trusted bytes of the part file open at ``fd`` end (at least ``recorded``).

    For a checkpoint saved in the running boot for this very file (the caller checks both):
    the file's length when its tail may be kept (see the module docstring), else ``recorded``.
    """
    size = os.fstat(fd).st_size
    if size <= recorded:
        return recorded
    if total is not None and size > total:
        return recorded  # the writer never goes past the announced end: someone else did
    if has_hole(fd, recorded, size):
        return recorded
    return size
