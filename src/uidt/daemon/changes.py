"""A version number that moves whenever the daemon's state may have changed, and a wait for it.

``GET /v1/jobs?since=V&wait_ms=N`` (what ``uidt download --wait`` uses) answers as soon as the
version differs from ``V``, or after ``N`` ms: the CLI sees a job end the moment it ends instead
of up to one polling interval later, and an idle daemon is not asked every 50 ms. With
``while_state=S`` (and ``job_id``) it waits past the changes that leave that job in state ``S``
(progress reports, notifications): a follower that shows no live bar asks about once per
``wait_ms`` during a transfer instead of at every progress report, and still hears the end at
once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


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

    async def wait(
        self, since: int, timeout_s: float, *, unchanged: Callable[[], bool] | None = None
    ) -> None:
        """Return once :attr:`version` differs from ``since``, or after ``timeout_s``.

        With ``unchanged``, a new version for which ``unchanged()`` is true does not count: the
        wait goes on (to the same deadline) for the next one.
        """
        if timeout_s <= 0:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            if self.version != since:
                if unchanged is None or not unchanged():
                    return
                since = self.version
            left = deadline - loop.time()
            if left <= 0:
                return
            if self._next is None:
                self._next = loop.create_future()
            with contextlib.suppress(TimeoutError):
                # shielded: one waiter's timeout must not cancel the future the others wait on
                await asyncio.wait_for(asyncio.shield(self._next), left)
