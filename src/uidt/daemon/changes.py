"""A version number that moves whenever the daemon's state may have changed, and a wait for it.

``GET /v1/jobs?since=V&wait_ms=N`` (what ``uidt download --wait`` uses) answers as soon as the
version differs from ``V``, or after ``N`` ms: the CLI sees a job end the moment it ends instead
of up to one polling interval later, and an idle daemon is not asked every 50 ms.
"""

from __future__ import annotations

import asyncio
import contextlib


class ChangeFeed:
    """Counts the runtime's action flushes; lets requests wait for the next one."""

    def __init__(self) -> None:
        self.version = 0
        self._next: asyncio.Future[None] | None = None

    def bump(self) -> None:
        """Something may have changed: move the version and wake every waiter."""
        self.version += 1
        waiter, self._next = self._next, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, since: int, timeout_s: float) -> None:
        """Return once :attr:`version` differs from ``since``, or after ``timeout_s``."""
        if self.version != since or timeout_s <= 0:
            return
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            # shielded: one waiter's timeout must not cancel the future the others wait on
            await asyncio.wait_for(asyncio.shield(self._next), timeout_s)
