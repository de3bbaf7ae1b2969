"""``DeviceState``: one immutable snapshot of everything the scheduler asks of the machine."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from uidt.job.network import Transport

#: Battery is low at or below this level while discharging (Android's config default).
BATTERY_LOW_LEVEL = 20
#: ...and okay again at or above this level (the "close bump").
BATTERY_OKAY_LEVEL = 25


class ThermalStatus(IntEnum):
    """Android's ``PowerManager.THERMAL_STATUS_*``."""

    NONE = 0
    LIGHT = 1
    MODERATE = 2
    SEVERE = 3
    CRITICAL = 4
    EMERGENCY = 5
    SHUTDOWN = 6


class MemoryPressure(IntEnum):
    """Memory pressure levels; the daemon's low-memory killer acts at CRITICAL."""

    NORMAL = 0
    MODERATE = 1
    LOW = 2
    CRITICAL = 3


@dataclass(frozen=True, slots=True)
class NetworkState:
    """The default network, as the scheduler sees it. Bandwidth ≤ 0 means unknown."""

    transport: Transport = Transport.WIFI
    metered: bool = False
    temporarily_not_metered: bool = False
    roaming: bool = False
    validated: bool = True
    suspended: bool = False
    vpn: bool = False
    downstream_kbps: int = 0
    upstream_kbps: int = 0
    #: A stable name for the network (interface or connection id), used to keep bandwidth per network.
    name: str = ""


@dataclass(frozen=True, slots=True)
class DeviceState:
    """A snapshot of the device. ``network`` is ``None`` when there is no usable network.

    ``battery_not_low`` is kept by the source with the 20 %/25 % hysteresis
    (see :func:`next_battery_not_low`); a machine with no battery is always on power and never low.
    """

    network: NetworkState | None = dataclasses.field(default_factory=NetworkState)
    battery_level: int = 100
    plugged: bool = True
    charging: bool = True
    battery_not_low: bool = True
    storage_low: bool = False
    thermal: ThermalStatus = ThermalStatus.NONE
    memory: MemoryPressure = MemoryPressure.NORMAL
    power_saver: bool = False

    def replace(self, **changes: Any) -> DeviceState:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, used by ``uidt dumpsys`` and the API."""
        network: dict[str, Any] | None = None
        if self.network is not None:
            network = dataclasses.asdict(self.network)
            network["transport"] = self.network.transport.name.lower()
        return {
            "network": network,
            "battery_level": self.battery_level,
            "plugged": self.plugged,
            "charging": self.charging,
            "battery_not_low": self.battery_not_low,
            "storage_low": self.storage_low,
            "thermal": self.thermal.name.lower(),
            "memory": self.memory.name.lower(),
            "power_saver": self.power_saver,
        }


def next_battery_not_low(previous: bool, level: int, plugged: bool) -> bool:
    """Battery-not-low with hysteresis: low when discharging at ≤ 20 %, okay again at ≥ 25 % or on power."""
    if plugged:
        return True
    if level <= BATTERY_LOW_LEVEL:
        return False
    if level >= BATTERY_OKAY_LEVEL:
        return True
    return previous
