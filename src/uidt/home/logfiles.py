"""Size caps for the log files the daemon hands to other processes as raw file descriptors.

``daemon-start.log`` (an autostarted daemon's stdout and stderr) and ``worker-<app>.log`` (a
worker's) are written by the child through its file descriptors, where no logging handler can
rotate them. They are rotated instead each time one is opened for a new process: a file over
:data:`MAX_BYTES` becomes ``<name>.1`` (replacing the previous one), so each holds at most its
cap plus what one process run writes. The daemon's own ``daemon.log`` rotates as it is written
(:mod:`uidt.daemon.logs`). Kept to ``os`` alone: the command line imports it before click.
"""

from __future__ import annotations

import os
from pathlib import Path

#: A log file larger than this is rotated when it is next opened.
MAX_BYTES = 5 * 1024 * 1024


def open_capped_log(path: Path, max_bytes: int = MAX_BYTES) -> int:
    """``path`` opened for appending (0600, not following a symlink), rotated first if too big.

    Returns:
        the file descriptor (the caller closes it).
    """
    try:
        if os.lstat(path).st_size > max_bytes:
            os.replace(path, path.with_name(path.name + ".1"))
    except FileNotFoundError:
        pass
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(path, flags, 0o600)
