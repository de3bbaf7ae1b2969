"""The fence of a download on a shared job store: ``<dest>.uidt-fence`` (docs/fleet.md).

In fleet mode a job is held by one host at a time through a lease with a generation that only
grows. The store refuses a stale host's writes, but the *worker* of a host that lost its lease
(its daemon frozen, or killed with the worker left running) could go on writing the part file,
which, on a folder several hosts share, the new holder writes too. The fence cuts it off:

* A run that knows its lease (``JobParameters.lease_generation``) **raises the fence** before
  its first byte: the file next to the destination then names its host and generation (written
  to a temporary name, fsynced and renamed over, so a reader sees the old fence or the new one,
  never half of one). A fence naming a *newer* generation means this run is the stale one: it
  stops before writing anything.
* The run **checks the fence** before every checkpoint it saves, before the rename into place,
  and on the write path at most every :data:`CHECK_EVERY_S` (checking before each chunk costs an
  ``open`` per chunk). A fence that names a newer generation, or that is gone (the transfer
  ended elsewhere and its holder removed it), stops the run with
  :class:`~uidt.errors.FencedOffError`; one that names an older generation (a stale run raised
  it after this one) is raised again.
* The new holder then **waits for the part file's lock** (:data:`LOCK_WAIT_S` at most) instead
  of failing at once with :class:`~uidt.errors.DestinationBusyError`: the old run lets go of it
  as soon as it sees the fence.

The fence is read with the same care as the part file: no links followed, and a fence that is
not the user's own regular file (planted by another user) is removed and ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from uidt.errors import DestinationBusyError, FencedOffError, RetryLaterError, UnsafeFileError
from uidt.transfers.checkpoint import fsync_directory
from uidt.transfers.safefile import open_nofollow, remove_untrusted, untrusted_reason
from uidt.units import human_bytes

log = logging.getLogger("uidt.transfers")

FENCE_SUFFIX = ".uidt-fence"
#: The most time between two checks of the fence on the write path.
CHECK_EVERY_S = 0.02
#: How long a new holder waits for the old run to let go of the part file's lock.
LOCK_WAIT_S = 10.0
_LOCK_POLL_S = 0.02
_MOST_BYTES = 4096
#: The worker log line at the start and the end of a run's writes (``uidt.testing.fleetruns``
#: reads them back to check that no two runs ever wrote a destination at once). The time is
#: the wall clock (``CLOCK_REALTIME``): comparable between hosts of one machine, and between
#: machines only as far as their clocks agree.
RUN_LINE = (
    "fleet-run {event} host={host} generation={generation} realtime={t:.6f} outcome={outcome} "
    "dest={dest}"
)

T = TypeVar("T")


def takeover_text(resumed_from: int, superseded: Lease | None) -> str:
    """What the first run of a job this host took over says about the other host's bytes.

    ``superseded``: the lease the run's fence replaced (another host's fence was visible here,
    so the part file is on storage both hosts see).
    """
    if resumed_from > 0:
        return (
            f"taken over from another host: resumed from {human_bytes(resumed_from)} "
            "(partial file on shared storage)"
        )
    if superseded is not None:
        return (
            f"taken over from {superseded.host_id}: started again (its partial file on shared "
            "storage could not be used)"
        )
    return "taken over from another host: started again (the partial file is not visible here)"


def fence_path(dest: Path) -> Path:
    """Where the fence of ``dest`` lives."""
    return dest.with_name(dest.name + FENCE_SUFFIX)


@dataclass(frozen=True)
class Lease:
    """The lease a run writes under: the host holding it and its generation."""

    host_id: str
    generation: int

    def __str__(self) -> str:
        return f"host {self.host_id}, lease generation {self.generation}"


class Fence:
    """The fence of one run's destination (see the module doc).

    Args:
        dest: The download's final path (the fence sits next to it).
        lease: The lease this run holds.
        monotonic: Seconds, for the pace of the checks on the write path.
    """

    def __init__(
        self, dest: Path, lease: Lease, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = fence_path(dest)
        self.lease = lease
        self._monotonic = monotonic
        self._next_check = 0.0
        self.raised = False
        self._started = False
        #: How long :meth:`take_over` waits for the replaced run to let go of the part file.
        self.lock_wait_s = LOCK_WAIT_S
        #: The lease this run's fence replaced (another host's or an earlier run's), if any.
        self.superseded: Lease | None = None

    def read(self) -> Lease | None:
        """The lease the fence names; ``None`` without one (or with one not safely the
        user's, which is removed, or one that cannot be parsed)."""
        try:
            fd = open_nofollow(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except UnsafeFileError:
            remove_untrusted(self.path, "is a symbolic link")
            return None
        with os.fdopen(fd, "rb") as file:
            reason = untrusted_reason(os.fstat(file.fileno()))
            if reason is not None:
                remove_untrusted(self.path, reason)
                return None
            data = file.read(_MOST_BYTES)
        try:
            named = json.loads(data)
            return Lease(str(named["host"]), int(named["generation"]))
        except (ValueError, KeyError, TypeError):
            return None

    def raise_fence(self) -> None:
        """Make the fence name this run's lease (before the run's first byte).

        Raises:
            FencedOffError: The fence names a newer generation: this run is stale.
        """
        for _ in range(3):
            current = self.read()
            if current is not None and current.generation > self.lease.generation:
                raise self._fenced_off(current)
            if current == self.lease:
                self.raised = True
                return
            if current is not None and self.superseded is None:
                self.superseded = current
            self._write()
        raise FencedOffError(f"{self.path}: the fence keeps changing under this run ({self.lease})")

    def check_due(self) -> None:
        """:meth:`check`, at most every :data:`CHECK_EVERY_S` (the write path)."""
        now = self._monotonic()
        if now >= self._next_check:
            self._next_check = now + CHECK_EVERY_S
            self.check()

    def check(self) -> None:
        """Stop unless the fence still names this run's lease (see the module doc).

        Raises:
            FencedOffError: It names a newer generation, or it is gone.
        """
        if not self.raised:
            return
        current = self.read()
        if current is None:
            raise FencedOffError(
                f"{self.path} is gone: the transfer ended elsewhere; this run ({self.lease}) "
                "stops writing"
            )
        if current.generation > self.lease.generation:
            raise self._fenced_off(current)
        if current != self.lease:  # an older run raised it after this one: raise it again
            self._write()

    async def take_over(self, resume: Callable[[], Awaitable[T]]) -> T:
        """Raise the fence, then ``resume`` (which locks the part file) once the lock is free:
        a run this one replaced lets go as soon as it sees the fence. Logs the start of this
        run's writes.

        Raises:
            FencedOffError: This run is the stale one.
            RetryLaterError: The run this one replaced kept the lock for :attr:`lock_wait_s`
                (stuck in a read that does not come, say): a later run will find it gone.
            DestinationBusyError: Another writer, under no fence this run replaced, holds it.
        """
        await asyncio.to_thread(self.raise_fence)
        deadline = time.monotonic() + self.lock_wait_s
        while True:
            try:
                found = await resume()
            except DestinationBusyError as busy:
                if self.superseded is None:
                    raise  # not a run this one replaced: the old refusal, at once
                if time.monotonic() >= deadline:
                    raise RetryLaterError(
                        f"{busy}; the run of {self.superseded.host_id} this host took the "
                        f"transfer over from has not let go of it yet"
                    ) from busy
                await asyncio.sleep(_LOCK_POLL_S)  # another process holds it: poll, bounded
                await asyncio.to_thread(self.check)
                continue
            self._log_run("start")
            return found

    def ended(self, outcome: str) -> None:
        """Log the end of this run's writes (the part file is closed), if they started."""
        if self._started:
            self._started = False
            self._log_run("end", outcome)

    def _log_run(self, event: str, outcome: str = "-") -> None:
        self._started = event == "start"
        line = RUN_LINE.format(
            event=event,
            host=self.lease.host_id,
            generation=self.lease.generation,
            t=time.time(),
            outcome=outcome,
            dest=str(self.path)[: -len(FENCE_SUFFIX)],
        )
        log.info("%s", line)

    def remove(self) -> None:
        """Take the fence down (the file is in place, or the transfer was cancelled)."""
        if self.raised:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.raised = False

    def _fenced_off(self, current: Lease) -> FencedOffError:
        return FencedOffError(
            f"{self.path.name[: -len(FENCE_SUFFIX)]}: {current.host_id} took this transfer over "
            f"(lease generation {current.generation}); this run ({self.lease}) stops writing"
        )

    def _write(self) -> None:
        body = json.dumps({"host": self.lease.host_id, "generation": self.lease.generation})
        temporary = self.path.with_name(f"{self.path.name}.{self.lease.generation}.tmp")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        fd = open_nofollow(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            os.write(fd, body.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path)
        fsync_directory(self.path.parent)
        self.raised = True
