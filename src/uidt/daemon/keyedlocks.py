"""One :class:`asyncio.Lock` per job key: :class:`KeyedLocks`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from uidt.job.key import JobKey


class KeyedLocks:
    """One :class:`asyncio.Lock` per job key, dropped once nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[JobKey, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: JobKey) -> AsyncIterator[None]:
        """Hold ``key``'s lock for the block (waiting for another holder first)."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
