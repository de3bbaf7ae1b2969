"""``DeviceReading``: what the daemon keeps of the device over time, for timelines.

The daemon keeps one reading each time a *kept* value changes (changes only): the network (its
kind, metered, roaming), the battery (its level in bands of ten, charging, not-low), storage low,
the thermal status, the memory pressure and power saver. Bandwidth and the battery's exact level
are left out: they move all the time and no constraint depends on them, so keeping them would fill
the history with changes nobody can see on a picture.

A reading is a plain value with a JSON form (the store keeps that text), and turns back into a
:class:`~uidt.device.state.DeviceState` so that one set of lane builders draws both real and
simulated devices (:mod:`uidt.timeline.readings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from uidt.device.state import DeviceState, MemoryPressure, NetworkState, ThermalStatus
from uidt.errors import UidtError
from uidt.job.network import Transport

#: Battery levels are kept in bands of this many percent (``47`` is kept as ``40``).
BATTERY_BAND = 10


class BadReadingError(UidtError):
    """A stored device reading that cannot be read back (a damaged store)."""


@dataclass(frozen=True, slots=True)
class DeviceReading:
    """The device's kept values from ``at_utc_ms`` on (until the next reading)."""

    at_utc_ms: int
    #: ``"none"`` without a usable network, else the transport's name (``wifi``, ``cellular``…).
    network: str
    metered: bool
    roaming: bool
    #: The battery level rounded down to :data:`BATTERY_BAND` percent.
    battery_band: int
    charging: bool
    battery_not_low: bool
    storage_low: bool
    thermal: ThermalStatus
    memory: MemoryPressure
    power_saver: bool

    @classmethod
    def of(cls, state: DeviceState, at_utc_ms: int) -> DeviceReading:
        """The kept values of ``state``, as seen at ``at_utc_ms``."""
        network = state.network
        return cls(
            at_utc_ms=at_utc_ms,
            network="none" if network is None else network.transport.name.lower(),
            metered=network is not None and network.metered,
            roaming=network is not None and network.roaming,
            battery_band=max(0, min(100, state.battery_level)) // BATTERY_BAND * BATTERY_BAND,
            charging=state.charging,
            battery_not_low=state.battery_not_low,
            storage_low=state.storage_low,
            thermal=state.thermal,
            memory=state.memory,
            power_saver=state.power_saver,
        )

    def same_values(self, other: DeviceReading) -> bool:
        """Whether ``other`` keeps the same values (its time apart): no change to keep."""
        return self.to_dict() | {"at_utc_ms": 0} == other.to_dict() | {"at_utc_ms": 0}

    def state(self) -> DeviceState:
        """A :class:`DeviceState` with these values (bandwidth unknown, the band as the level)."""
        network = None
        if self.network != "none":
            network = NetworkState(
                transport=Transport[self.network.upper()],
                metered=self.metered,
                roaming=self.roaming,
                name=self.network,
            )
        return DeviceState(
            network=network,
            battery_level=self.battery_band,
            plugged=self.charging,
            charging=self.charging,
            battery_not_low=self.battery_not_low,
            storage_low=self.storage_low,
            thermal=self.thermal,
            memory=self.memory,
            power_saver=self.power_saver,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the store's text, the API's ``GET /v1/device/history``)."""
        return {
            "at_utc_ms": self.at_utc_ms,
            "network": self.network,
            "metered": self.metered,
            "roaming": self.roaming,
            "battery_band": self.battery_band,
            "charging": self.charging,
            "battery_not_low": self.battery_not_low,
            "storage_low": self.storage_low,
            "thermal": self.thermal.name.lower(),
            "memory": self.memory.name.lower(),
            "power_saver": self.power_saver,
        }

    @classmethod
    def from_dict(cls, data: Any) -> DeviceReading:
        """Read the JSON form back.

        Raises:
            BadReadingError: a field is missing or has a value no reading has.
        """
        try:
            network = str(data["network"])
            if network != "none":
                Transport[network.upper()]
            flags = {
                name: data[name]
                for name in (
                    "metered",
                    "roaming",
                    "charging",
                    "battery_not_low",
                    "storage_low",
                    "power_saver",
                )
            }
            if not all(isinstance(v, bool) for v in flags.values()):
                raise ValueError("a yes/no field is not true or false")
            at, band = data["at_utc_ms"], data["battery_band"]
            if not isinstance(at, int) or not isinstance(band, int) or isinstance(band, bool):
                raise ValueError("a time or battery band is not a whole number")
            return cls(
                at_utc_ms=at,
                network=network,
                battery_band=band,
                thermal=ThermalStatus[str(data["thermal"]).upper()],
                memory=MemoryPressure[str(data["memory"]).upper()],
                **flags,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadReadingError(f"unreadable device reading {data!r}: {exc!r}") from exc
