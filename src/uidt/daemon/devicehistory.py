"""The daemon's history of device readings: changes only, bounded, kept in the job store.

Each device change the runtime hears of becomes a :class:`~uidt.device.history.DeviceReading`;
one that keeps the same values as the last (a bandwidth sample, the battery moving inside its band)
is dropped. A new reading is kept in memory here (what ``GET /v1/device/history`` answers, never
waiting for the disk) and queued on the store writer, which appends and prunes it in its next
commit, off the event loop. Both copies keep the same bound: the readings of the last
``device_history_days`` (plus the one before, which says what the device was when that window
starts) and at most ``device_history_max`` of them.
"""

from __future__ import annotations

from collections.abc import Callable

from uidt.device.history import DeviceReading
from uidt.device.state import DeviceState
from uidt.store.base import prune_readings
from uidt.store.writer import StoreWriter

_DAY_MS = 86_400_000


class DeviceHistory:
    """Keeps the device readings (see the module doc).

    Args:
        store: the store writer that commits them.
        utc_ms: the wall clock, in milliseconds since the epoch.
        days: how many days of readings to keep.
        max_readings: the hard cap on kept readings (however fast the device flaps).
    """

    def __init__(
        self, store: StoreWriter, *, utc_ms: Callable[[], int], days: int, max_readings: int
    ) -> None:
        self._store = store
        self._utc_ms = utc_ms
        self.days = days
        self.max_readings = max_readings
        self._readings: list[DeviceReading] = []

    def load(self) -> None:
        """Read the kept readings from the store (start-up, before the loop serves anything)."""
        self._readings = self._pruned(self._store.device_readings())

    def record(self, state: DeviceState) -> bool:
        """Keep ``state`` if a kept value changed; ``True`` if it was kept."""
        reading = DeviceReading.of(state, self._utc_ms())
        if self._readings and self._readings[-1].same_values(reading):
            return False
        self._readings = self._pruned([*self._readings, reading])
        self._store.add_device_readings([reading], self._keep_since(), self.max_readings)
        return True

    def since(self, utc_ms: int) -> list[DeviceReading]:
        """The readings from ``utc_ms`` on, with the one before (the state at ``utc_ms``)."""
        return prune_readings(self._readings, utc_ms, self.max_readings)

    def _keep_since(self) -> int:
        return self._utc_ms() - self.days * _DAY_MS

    def _pruned(self, readings: list[DeviceReading]) -> list[DeviceReading]:
        return prune_readings(readings, self._keep_since(), self.max_readings)
