"""The ``DeviceSource`` protocol: where ``DeviceState`` snapshots come from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from uidt.device.state import DeviceState

DeviceListener = Callable[[DeviceState], None]


class DeviceSource(Protocol):
    """Produces device snapshots and tells listeners when the snapshot changes.

    ``snapshot()`` never blocks and never raises. ``run()`` keeps the readings fresh (polling or
    signals) until cancelled; sources driven by hand (fakes, overrides) simply wait in it.
    ``describe()`` names each reading's source for ``uidt cmd device show``.
    """

    def snapshot(self) -> DeviceState: ...

    def add_listener(self, listener: DeviceListener) -> None: ...

    def remove_listener(self, listener: DeviceListener) -> None: ...

    async def run(self) -> None: ...

    def describe(self) -> dict[str, str]: ...
