"""``Ticks``: an injected sleep that waits until the test lets it end."""

from __future__ import annotations

import asyncio


class Ticks:
    """An injected sleep: each call waits until the test releases one tick of its length."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.two_waiting = asyncio.Event()
        self.released: dict[float, asyncio.Queue[None]] = {}
        self._called = asyncio.Condition()

    def _queue(self, seconds: float) -> asyncio.Queue[None]:
        return self.released.setdefault(seconds, asyncio.Queue())

    def release(self, seconds: float) -> None:
        """Let one sleep of ``seconds`` end."""
        self._queue(seconds).put_nowait(None)

    async def called(self, seconds: float, times: int = 1) -> None:
        """Wait until a sleep of ``seconds`` has been asked for ``times`` times in all."""
        async with self._called:
            await self._called.wait_for(lambda: self.calls.count(seconds) >= times)

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if len(self.calls) >= 2:
            self.two_waiting.set()
        async with self._called:
            self._called.notify_all()
        await self._queue(seconds).get()
