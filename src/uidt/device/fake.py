"""``FakeDeviceSource``: a device driven by hand (tests, ``--device fake``, simulations)."""

from __future__ import annotations

import asyncio
from typing import Any

from uidt.device.source import PublishingSource
from uidt.device.state import DeviceState


class FakeDeviceSource(PublishingSource):
    """Starts from a neutral device (unmetered Wi-Fi, 100 %, on power, storage ok, thermal none)."""

    def __init__(self, state: DeviceState | None = None) -> None:
        super().__init__()
        self._state = state if state is not None else DeviceState()

    def set_state(self, state: DeviceState) -> None:
        """Replace the whole snapshot and tell the listeners if it changed."""
        self._publish_state(state)

    def set(self, **changes: Any) -> DeviceState:
        """Change some fields (``network=None`` for no network) and tell the listeners."""
        self.set_state(self._state.replace(**changes))
        return self._state

    async def run(self) -> None:
        await asyncio.Event().wait()

    def describe(self) -> dict[str, str]:
        return dict.fromkeys(self._state.to_dict(), "fake")
