"""The ``DeviceSource`` protocol: where ``DeviceState`` snapshots come from."""

from __future__ import annotations

import logging
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


class PublishingSource:
    """The listener half of a ``DeviceSource``: keeps the snapshot and tells listeners of changes.

    Subclasses set ``self._state`` first and call :meth:`_publish_state` with each new reading;
    a listener that raises is logged and does not stop the others.
    """

    _state: DeviceState

    def __init__(self) -> None:
        self._listeners: list[DeviceListener] = []

    def snapshot(self) -> DeviceState:
        return self._state

    def add_listener(self, listener: DeviceListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: DeviceListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _publish_state(self, state: DeviceState) -> bool:
        """Store ``state`` and tell the listeners; ``False`` (and silence) when nothing changed."""
        if state == self._state:
            return False
        self._state = state
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:
                logging.getLogger("uidt.device").exception("device listener failed")
        return True
