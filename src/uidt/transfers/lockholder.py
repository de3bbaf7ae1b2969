"""Who holds a part file's lock, and when a new run waits for it instead of failing.

A ``kill -9`` of the daemon (or its crash) leaves its app workers running for a moment: each
notices the closed socket, cancels its transfers (which commit their checkpoints) and exits,
within the worker's cleanup time (:data:`uidt.host.worker.CLEANUP_TIMEOUT_S`). The next daemon
runs the persisted job again at once, and its run can find the part file still locked by the
old worker: a transient condition, not a second writer. :func:`holder_kind` tells the cases
apart from what ``/proc`` shows of the holder:

* :attr:`HolderKind.ORPHANED`: a uidt worker of this user whose daemon is gone. Every worker
  is started with its daemon's pid in its environment (:data:`~uidt.host.command.
  DAEMON_PID_ENV`); when its parent is no longer that pid, the daemon died and the worker is
  on its way out. :func:`wait_for_orphans` waits for it, bounded (:data:`ORPHAN_WAIT_S`), and
  past the bound the run asks to run again later (:class:`~uidt.errors.HolderNotGoneError`)
  rather than failing the job.
* :attr:`HolderKind.SAME_DAEMON`: a worker of this run's own daemon (or this very process):
  another job of the same daemon, or an older run of the same job still letting go. The
  service, which knows the jobs its worker runs, tells those two apart.
* :attr:`HolderKind.OTHER`: anything else (another daemon's live worker, ``uidt download
  --foreground``, another user's process): a genuine second writer, refused at once with
  :class:`~uidt.errors.DestinationBusyError` as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

from uidt.errors import DestinationBusyError, HolderNotGoneError
from uidt.host.command import DAEMON_PID_ENV

log = logging.getLogger("uidt.transfers")

T = TypeVar("T")

#: How long a run waits for an orphaned worker to let go of the part file: the worker's
#: cleanup time (5 s) and a margin for a loaded machine.
ORPHAN_WAIT_S = 10.0
_POLL_S = 0.02


class HolderKind(Enum):
    """What the process holding a part file's lock is (see the module doc)."""

    ORPHANED = "a worker of a uidt daemon that is gone"
    SAME_DAEMON = "a worker of this daemon"
    OTHER = "another process"


def _environment(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as environ:
        data = environ.read()
    pairs = (entry.partition(b"=") for entry in data.split(b"\0") if entry)
    return {
        name.decode(errors="replace"): value.decode(errors="replace") for name, _, value in pairs
    }


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        data = stat.read()
    # "pid (comm) state ppid ...": the name may hold spaces and parentheses
    return int(data[data.rindex(b")") + 2 :].split()[1])


def holder_kind(pid: int | None) -> HolderKind:
    """What the lock holder ``pid`` is (``None``, unknown: :attr:`HolderKind.OTHER`).

    A holder that exited meanwhile reads :attr:`HolderKind.ORPHANED`: the lock is free, the
    next try takes it.
    """
    ours = os.environ.get(DAEMON_PID_ENV)  # None: this process is no daemon's worker
    if pid is None:
        return HolderKind.OTHER
    if pid == os.getpid():
        return HolderKind.OTHER if ours is None else HolderKind.SAME_DAEMON
    try:
        if os.stat(f"/proc/{pid}").st_uid != os.geteuid():
            return HolderKind.OTHER  # another user's process is never ours to wait for
        daemon = _environment(pid).get(DAEMON_PID_ENV)
        if daemon is None or not daemon.isdigit():
            return HolderKind.OTHER  # not a uidt worker
        if _parent(pid) != int(daemon):
            return HolderKind.ORPHANED  # its daemon died: it was handed to another parent
    except FileNotFoundError:
        return HolderKind.ORPHANED  # gone already
    except (OSError, ValueError, IndexError):
        return HolderKind.OTHER
    if ours == daemon:
        return HolderKind.SAME_DAEMON
    return HolderKind.OTHER


async def wait_for_orphans(lock: Callable[[], Awaitable[T]], *, wait_s: float | None = None) -> T:
    """``lock()`` (which locks a part file), again while an orphaned worker holds the lock,
    for ``wait_s`` seconds at most (default: :data:`ORPHAN_WAIT_S`).

    Raises:
        HolderNotGoneError: The orphaned worker still holds it after ``wait_s``.
        DestinationBusyError: Any other holder (at once, as before).
    """
    wait_s = ORPHAN_WAIT_S if wait_s is None else wait_s
    deadline: float | None = None
    while True:
        try:
            return await lock()
        except DestinationBusyError as busy:
            if holder_kind(busy.holder_pid) is not HolderKind.ORPHANED:
                raise
            now = time.monotonic()
            if deadline is None:
                deadline = now + wait_s
                log.info("%s: %s; waiting for it to exit", busy, HolderKind.ORPHANED.value)
            elif now >= deadline:
                stuck = HolderNotGoneError(
                    f"{busy}: {HolderKind.ORPHANED.value} still holds it after {wait_s:g} s; "
                    "a later run will find it gone"
                )
                stuck.holder_pid = busy.holder_pid
                raise stuck from busy
            await asyncio.sleep(_POLL_S)  # another process's exit: poll, bounded
