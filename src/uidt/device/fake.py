"""``FakeDeviceSource``: a device driven by hand (tests, ``--device fake``, simulations)."""

from __future__ import annotations

import asyncio
from typing import Any

from uidt.device.source import DeviceListener
from uidt.device.state import DeviceState


class FakeDeviceSource:
    """Starts from a neutral device (unmetered Wi-Fi, 100 %, on power, storage ok, thermal none)."""

    def __init__(self, state: DeviceState | None = None) -> None:
        self._state = state if state is not None else DeviceState()
        self._listeners: list[DeviceListener] = []

    def snapshot(self) -> DeviceState:
        return self._state

    def set_state(self, state: DeviceState) -> None:
        """Replace the whole snapshot and tell the listeners if it changed."""
        if state == self._state:
            return
        self._state = state
        for listener in list(self._listeners):
            listener(state)

    def set(self, **changes: Any) -> DeviceState:
        """Change some fields (``network=None`` for no network) and tell the listeners."""
        self.set_state(self._state.replace(**changes))
        return self._state

    def add_listener(self, listener: DeviceListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: DeviceListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def run(self) -> None:
        await asyncio.Event().wait()

    def describe(self) -> dict[str, str]:
        return dict.fromkeys(self._state.to_dict(), "fake")
