"""``LinuxDeviceSource``: the real machine, read from ``/proc``, ``/sys``, the disk and D-Bus.

Readers run in :meth:`LinuxDeviceSource.run`: the network every ``poll_network_s``, and soon
after the kernel reports a link, address or route change (rtnetlink, :mod:`uidt.device.netlink`)
or NetworkManager signals ``PropertiesChanged``; everything else every ``poll_other_s``. A burst
of notifications costs one reading, ``coalesce_s`` after the first. Without netlink (a platform
without it, or a socket that cannot be opened) the poll alone is left, and that is logged once.
A reader that fails keeps its last good value and is logged once until it works again. Listeners
hear of a new snapshot only when it differs from the last one.
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
from uidt.device.netlink import COALESCE_S, NetlinkWatch, RouteSocket, open_route_socket
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
        poll_network_s: Seconds between network polls (the safety net under the notifications).
        poll_other_s: Seconds between battery, storage, thermal, memory and power-saver polls.
        sleep: The sleep used between polls (tests inject one that does not wait).
        bus_address: D-Bus address to use instead of the system bus (tests use a private bus).
        use_dbus: ``False`` never touches D-Bus.
        watch_netlink: Whether to follow the kernel's rtnetlink notifications; by default only
            when reading the real machine (``root`` is ``/``), not a fixture tree.
        open_netlink: Opens the route socket (tests inject a scripted one).
        coalesce_s: Seconds between a change notification and the reading it causes.
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
        watch_netlink: bool | None = None,
        open_netlink: Callable[[], RouteSocket] = open_route_socket,
        coalesce_s: float = COALESCE_S,
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
        self._watch_netlink = root == Path("/") if watch_netlink is None else watch_netlink
        self._open_netlink = open_netlink
        self._coalesce_s = coalesce_s
        self._netlink: NetlinkWatch | None = None
        self._netlink_note = "netlink not tried yet" if self._watch_netlink else "netlink off"
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
        self._kernel_news = False  # netlink said something (coalesced)
        self._networkmanager_news = False  # NetworkManager said something (read at once)
        self._state = DeviceState()
        self.poll_network()
        self.poll_other()

    # DeviceSource -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll (and listen to netlink and D-Bus where present) until cancelled."""
        if self._watch_netlink:
            self._start_netlink()
        if self._use_dbus:
            await self._connect_dbus()
        try:
            await asyncio.gather(self._network_loop(), self._other_loop())
        finally:
            if self._netlink is not None:
                self._netlink.close()
                self._netlink = None
            if self._bus is not None:
                self._bus.disconnect()
                self._bus = None

    def describe(self) -> dict[str, str]:
        latest = self._latest
        network_source = latest.network.source
        if not self._networkmanager:
            network_source += f" [{self._bus_note}; {self._changes_note()}]"
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
            if self._kernel_news and not self._networkmanager_news:
                # Let the rest of the kernel's burst arrive: one reading for all of it.
                await self._sleep(self._coalesce_s)
            self._kernel_news = self._networkmanager_news = False
            self._network_changed.clear()
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
        """Sleep for ``seconds`` or until a change is signalled, whichever is first."""
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        signal = asyncio.ensure_future(self._network_changed.wait())
        try:
            await asyncio.wait({sleeper, signal}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, signal):
                task.cancel()
            await asyncio.gather(sleeper, signal, return_exceptions=True)

    def _kernel_changed(self) -> None:
        self._kernel_news = True
        self._network_changed.set()

    def _networkmanager_changed(self) -> None:
        self._networkmanager_news = True
        self._network_changed.set()

    # Netlink ------------------------------------------------------------------------------

    def _start_netlink(self) -> None:
        try:
            sock = self._open_netlink()
        except OSError as error:
            self._netlink_note = f"no netlink ({error.strerror or error})"
            logger.warning(
                "Cannot follow the kernel's network notifications (%s);"
                " the network is polled every %g s only",
                error,
                self._poll_network_s,
            )
            return
        self._netlink = NetlinkWatch(sock, self._kernel_changed, logger)
        self._netlink.start(asyncio.get_running_loop())
        self._netlink_note = "netlink"

    def _changes_note(self) -> str:
        """How network changes are learnt, for ``describe()``."""
        every = f"polled every {self._poll_network_s:g} s"
        if self._netlink is not None and self._netlink.watching:
            return f"changes: netlink at once, {every}"
        if self._netlink is not None:
            return f"changes: netlink stopped, {every}"
        return f"changes: {self._netlink_note}, {every}"

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
                    bus, dbus_readers.NM_NAME, self._networkmanager_changed
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
