"""``LinuxDeviceSource``: the real machine, read from ``/proc``, ``/sys``, the disk and D-Bus.

Readers run in :meth:`LinuxDeviceSource.run`: the network every ``poll_network_s`` (and at once on a
NetworkManager ``PropertiesChanged`` signal), everything else every ``poll_other_s``. A reader that
fails keeps its last good value and is logged once until it works again. Listeners hear of a new
snapshot only when it differs from the last one.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uidt.clock import Clock, SystemClock
from uidt.device.health import ReaderHealth
from uidt.device.kernel_network import read_kernel_network
from uidt.device.latest import LatestReadings
from uidt.device.memory import read_memory
from uidt.device.power import SensorsBattery, read_power
from uidt.device.power import _psutil_battery as _default_battery
from uidt.device.source import PublishingSource
from uidt.device.state import DeviceState
from uidt.device.storage import DiskUsage, read_storage
from uidt.device.thermal import SensorsTemperatures, read_thermal
from uidt.device.thermal import _psutil_temperatures as _default_temperatures

if TYPE_CHECKING:
    from dbus_fast.aio import MessageBus

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class LinuxDeviceSource(PublishingSource):
    """Device readings from a Linux machine (see the module docstring).

    Args:
        data_dir: The uidt data directory; its volume decides "storage low".
        root: Where ``/proc`` and ``/sys`` live (a fixture tree in tests).
        clock: Records when each reading last succeeded.
        poll_network_s: Seconds between network polls.
        poll_other_s: Seconds between battery, storage, thermal, memory and power-saver polls.
        sleep: The sleep used between polls (tests inject one that does not wait).
        bus_address: D-Bus address to use instead of the system bus (tests use a private bus).
        use_dbus: ``False`` never touches D-Bus.
        disk_usage, sensors_battery, sensors_temperatures: Injectable for tests.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        root: Path = Path("/"),
        clock: Clock | None = None,
        poll_network_s: float = 1.0,
        poll_other_s: float = 10.0,
        sleep: Sleep = asyncio.sleep,
        bus_address: str | None = None,
        use_dbus: bool = True,
        disk_usage: DiskUsage = shutil.disk_usage,
        sensors_battery: SensorsBattery = _default_battery,
        sensors_temperatures: SensorsTemperatures = _default_temperatures,
    ) -> None:
        super().__init__()
        self._data_dir = data_dir
        self._root = root
        self._clock = clock if clock is not None else SystemClock()
        self._poll_network_s = poll_network_s
        self._poll_other_s = poll_other_s
        self._sleep = sleep
        self._bus_address = bus_address
        self._use_dbus = use_dbus
        self._disk_usage = disk_usage
        self._sensors_battery = sensors_battery
        self._sensors_temperatures = sensors_temperatures
        self._health = ReaderHealth(self._clock, logger)
        self._latest = LatestReadings()
        self._bus: MessageBus | None = None
        self._networkmanager = False
        self._power_profiles = False
        self._bus_note = "D-Bus not tried yet" if use_dbus else "D-Bus disabled"
        self._network_changed = asyncio.Event()
        self._state = DeviceState()
        self.poll_network()
        self.poll_other()

    # DeviceSource -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll (and listen to D-Bus where present) until cancelled."""
        if self._use_dbus:
            await self._connect_dbus()
        try:
            await asyncio.gather(self._network_loop(), self._other_loop())
        finally:
            if self._bus is not None:
                self._bus.disconnect()
                self._bus = None

    def describe(self) -> dict[str, str]:
        latest = self._latest
        network_source = latest.network.source
        if not self._networkmanager:
            network_source += f" [{self._bus_note}]"
        power = latest.power.source
        return {
            "network": network_source,
            "metered": network_source,
            "roaming": network_source if self._networkmanager else "kernel: unknown, not roaming",
            "validated": network_source
            if self._networkmanager
            else "kernel: a default route counts",
            "bandwidth_kbps": latest.bandwidth_note(),
            "battery_level": power,
            "plugged": power,
            "charging": power,
            "battery_not_low": power + " (20 %/25 % hysteresis)",
            "storage_low": latest.storage.source,
            "thermal": latest.thermal.source,
            "memory": latest.memory.source,
            "power_saver": latest.power_saver.source,
        }

    # Bandwidth ----------------------------------------------------------------------------

    def record_bandwidth(self, network_name: str, down_kbps: int, up_kbps: int) -> None:
        """Remember throughput measured on a network; the snapshot reports it while that network is current."""
        self._latest.record_bandwidth(network_name, down_kbps, up_kbps)
        self._publish()

    # Polling ------------------------------------------------------------------------------

    def poll_network(self) -> None:
        """Read the network from the kernel now (NetworkManager readings come from :meth:`run`)."""
        latest = self._latest
        latest.network = self._health.attempt(
            "network", lambda: read_kernel_network(self._root), latest.network
        )
        self._publish()

    def poll_other(self) -> None:
        """Read battery, storage, thermal and memory now."""
        previous_not_low = self._state.battery_not_low
        latest, attempt = self._latest, self._health.attempt
        latest.power = attempt(
            "power",
            lambda: read_power(
                self._root, previous_not_low=previous_not_low, sensors_battery=self._sensors_battery
            ),
            latest.power,
        )
        latest.storage = attempt(
            "storage",
            lambda: read_storage(self._data_dir, disk_usage=self._disk_usage),
            latest.storage,
        )
        latest.thermal = attempt(
            "thermal",
            lambda: read_thermal(self._root, sensors_temperatures=self._sensors_temperatures),
            latest.thermal,
        )
        latest.memory = attempt("memory", lambda: read_memory(self._root), latest.memory)
        self._publish()

    async def _network_loop(self) -> None:
        while True:
            await self._wait(self._poll_network_s)
            if self._networkmanager and self._bus is not None:
                await self._poll_networkmanager(self._bus)
            else:
                self.poll_network()

    async def _other_loop(self) -> None:
        while True:
            await self._sleep(self._poll_other_s)
            if self._power_profiles and self._bus is not None:
                await self._poll_power_saver(self._bus)
            self.poll_other()

    async def _wait(self, seconds: float) -> None:
        """Sleep for ``seconds`` or until NetworkManager signals a change, whichever is first."""
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        signal = asyncio.ensure_future(self._network_changed.wait())
        try:
            await asyncio.wait({sleeper, signal}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, signal):
                task.cancel()
            await asyncio.gather(sleeper, signal, return_exceptions=True)
        self._network_changed.clear()

    # D-Bus --------------------------------------------------------------------------------

    async def _connect_dbus(self) -> None:
        if self._bus_address is None and not _system_bus_may_exist():
            # Not even worth importing dbus-fast (~50 ms of the daemon's first moments).
            self._bus_note = "no system D-Bus: kernel fallback"
            self.poll_network()
            return
        try:
            # dbus-fast is optional; imported off the loop so early requests are not held up.
            await asyncio.to_thread(importlib.import_module, "uidt.device.dbus_readers")
            from uidt.device import dbus_readers  # already imported: typed access
        except ImportError:
            self._bus_note = "dbus-fast not installed: kernel fallback"
            self.poll_network()
            return
        bus = await dbus_readers.connect_bus(self._bus_address)
        if bus is None:
            self._bus_note = "no system D-Bus: kernel fallback"
            self.poll_network()
            return
        self._bus = bus
        self._networkmanager = await dbus_readers.name_has_owner(bus, dbus_readers.NM_NAME)
        self._power_profiles = any(
            [
                await dbus_readers.name_has_owner(bus, name)
                for name, _, _ in dbus_readers.POWER_PROFILES
            ]
        )
        if self._networkmanager:
            try:
                await dbus_readers.watch_properties(
                    bus, dbus_readers.NM_NAME, self._network_changed.set
                )
            except dbus_readers.DbusUnavailable:
                logger.warning("Cannot subscribe to NetworkManager signals; polling only")
            await self._poll_networkmanager(bus)
        else:
            self._bus_note = "no NetworkManager on D-Bus: kernel fallback"
            self.poll_network()
        if self._power_profiles:
            await self._poll_power_saver(bus)

    async def _poll_networkmanager(self, bus: MessageBus) -> None:
        from uidt.device import dbus_readers

        try:
            reading = await dbus_readers.read_networkmanager(bus)
        except dbus_readers.DbusUnavailable as error:
            self._health.failed("networkmanager", error)
            self._bus_note = "NetworkManager not answering: kernel fallback"
            self._networkmanager_fallback()
            return
        self._health.succeeded("networkmanager")
        self._latest.network = reading
        self._publish()

    def _networkmanager_fallback(self) -> None:
        self.poll_network()

    async def _poll_power_saver(self, bus: MessageBus) -> None:
        from uidt.device import dbus_readers

        try:
            reading = await dbus_readers.read_power_saver(bus)
        except dbus_readers.DbusUnavailable as error:
            self._health.failed("power_saver", error)
            return
        self._health.succeeded("power_saver")
        self._latest.power_saver = reading
        self._publish()

    # Bookkeeping ----------------------------------------------------------------------------

    def _publish(self) -> None:
        self._publish_state(self._latest.snapshot())

    def last_success_ms(self) -> dict[str, Any]:
        """When each reader last succeeded (``clock.elapsed()`` milliseconds), for diagnostics."""
        return self._health.last_success_ms()


#: Where the system bus listens when ``$DBUS_SYSTEM_BUS_ADDRESS`` does not say otherwise.
_SYSTEM_BUS_SOCKET = Path("/run/dbus/system_bus_socket")


def _system_bus_may_exist() -> bool:
    """A system bus address is configured, or its standard socket exists."""
    return bool(os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")) or _SYSTEM_BUS_SOCKET.exists()
