"""``LatestReadings``: the last good value of each device reader, and the snapshot they make.

A part of :class:`uidt.device.linux.LinuxDeviceSource`, which decides when to read; this keeps
what was read (with where it came from, for ``uidt cmd device show``) and the bandwidth measured
per network, and turns them into one :class:`~uidt.device.state.DeviceState`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from uidt.device.power import PowerReading
from uidt.device.reading import Reading
from uidt.device.state import DeviceState, MemoryPressure, NetworkState, ThermalStatus


@dataclass
class LatestReadings:
    """The latest reading of each reader (a failed read keeps the previous one)."""

    network: Reading[NetworkState | None] = field(
        default_factory=lambda: Reading(None, "not read yet")
    )
    power: Reading[PowerReading] = field(
        default_factory=lambda: Reading(PowerReading(), "not read yet")
    )
    power_saver: Reading[bool] = field(
        default_factory=lambda: Reading(False, "no power-profiles-daemon")
    )
    storage: Reading[bool] = field(default_factory=lambda: Reading(False, "not read yet"))
    thermal: Reading[ThermalStatus] = field(
        default_factory=lambda: Reading(ThermalStatus.NONE, "not read yet")
    )
    memory: Reading[MemoryPressure] = field(
        default_factory=lambda: Reading(MemoryPressure.NORMAL, "not read yet")
    )
    #: Throughput measured per network name (down, up kbps); reported while that network is current.
    bandwidth: dict[str, tuple[int, int]] = field(default_factory=dict)

    def record_bandwidth(self, network_name: str, down_kbps: int, up_kbps: int) -> None:
        """Remember throughput measured on a network (negative figures count as 0)."""
        self.bandwidth[network_name] = (max(0, down_kbps), max(0, up_kbps))

    def bandwidth_note(self) -> str:
        """Where the snapshot's bandwidth comes from, for ``describe()``."""
        network = self.network.value
        if network is None or network.name not in self.bandwidth:
            return "unknown until measured"
        down, up = self.bandwidth[network.name]
        return f"measured on {network.name}: {down}/{up} kbps"

    def snapshot(self) -> DeviceState:
        """The device as these readings describe it."""
        network = self.network.value
        if network is not None and network.name in self.bandwidth:
            down, up = self.bandwidth[network.name]
            network = dataclasses.replace(network, downstream_kbps=down, upstream_kbps=up)
        power = self.power.value
        return DeviceState(
            network=network,
            battery_level=power.level,
            plugged=power.plugged,
            charging=power.charging,
            battery_not_low=power.battery_not_low,
            storage_low=self.storage.value,
            thermal=self.thermal.value,
            memory=self.memory.value,
            power_saver=self.power_saver.value,
        )
