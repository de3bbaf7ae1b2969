"""NetworkManager and power-profiles-daemon readers against fakes on a private D-Bus daemon."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusObjectPath, DBusStr, DBusUInt32
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property

from uidt.device import dbus_readers
from uidt.device.linux import LinuxDeviceSource
from uidt.device.state import DeviceState
from uidt.job.network import Transport

DBUS_DAEMON = shutil.which("dbus-daemon")
pytestmark = pytest.mark.skipif(
    DBUS_DAEMON is None, reason="dbus-daemon is not installed (apt-get install dbus)"
)

ACTIVE_PATH = "/org/freedesktop/NetworkManager/ActiveConnection/1"
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class FakeNetworkManager(ServiceInterface):
    """The few ``org.freedesktop.NetworkManager`` properties uidt reads."""

    def __init__(self, connection_type: str = "802-11-wireless") -> None:
        super().__init__("org.freedesktop.NetworkManager")
        self.metered = 4  # NM_METERED_GUESS_NO
        self.connection_type = connection_type

    @dbus_property(access=PropertyAccess.READ)
    def PrimaryConnection(self) -> DBusObjectPath:
        return ACTIVE_PATH

    @dbus_property(access=PropertyAccess.READ)
    def PrimaryConnectionType(self) -> DBusStr:
        return self.connection_type

    @dbus_property(access=PropertyAccess.READ)
    def Metered(self) -> DBusUInt32:
        return self.metered

    @dbus_property(access=PropertyAccess.READ)
    def Connectivity(self) -> DBusUInt32:
        return 4  # NM_CONNECTIVITY_FULL

    def set_metered(self, value: int) -> None:
        self.metered = value
        self.emit_properties_changed({"Metered": value})


class FakeActiveConnection(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.freedesktop.NetworkManager.Connection.Active")

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> DBusStr:
        return "802-11-wireless"

    @dbus_property(access=PropertyAccess.READ)
    def Id(self) -> DBusStr:
        return "Home Wi-Fi"


class FakeModem3gpp(ServiceInterface):
    def __init__(self, registration_state: int) -> None:
        super().__init__("org.freedesktop.ModemManager1.Modem.Modem3gpp")
        self.registration_state = registration_state

    @dbus_property(access=PropertyAccess.READ)
    def RegistrationState(self) -> DBusUInt32:
        return self.registration_state


class FakePowerProfiles(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("net.hadess.PowerProfiles")

    @dbus_property(access=PropertyAccess.READ)
    def ActiveProfile(self) -> DBusStr:
        return "power-saver"


@pytest.fixture
def bus_address(tmp_path: Path) -> Iterator[str]:
    """A private dbus-daemon for this test."""
    assert DBUS_DAEMON is not None
    config = tmp_path / "bus.conf"
    config.write_text(BUS_CONFIG.format(socket=tmp_path / "bus"))
    daemon = subprocess.Popen(
        [DBUS_DAEMON, f"--config-file={config}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert daemon.stdout is not None
        address = daemon.stdout.readline().strip()
        assert address.startswith("unix:")
        yield address
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        if daemon.stdout is not None:
            daemon.stdout.close()


@pytest.fixture
async def services(bus_address: str) -> AsyncIterator[SimpleNamespace]:
    bus = await MessageBus(bus_address=bus_address).connect()
    manager = FakeNetworkManager()
    bus.export("/org/freedesktop/NetworkManager", manager)
    bus.export(ACTIVE_PATH, FakeActiveConnection())
    bus.export("/net/hadess/PowerProfiles", FakePowerProfiles())
    await bus.request_name("org.freedesktop.NetworkManager")
    await bus.request_name("net.hadess.PowerProfiles")
    try:
        yield SimpleNamespace(address=bus_address, manager=manager)
    finally:
        bus.disconnect()


async def test_readers_read_the_fakes(services: SimpleNamespace) -> None:
    bus = await dbus_readers.connect_bus(services.address)
    assert bus is not None
    try:
        reading = await dbus_readers.read_networkmanager(bus)
        assert reading.value is not None
        assert reading.value.transport is Transport.WIFI
        assert reading.value.name == "Home Wi-Fi"
        assert reading.value.validated
        assert not reading.value.metered
        assert (await dbus_readers.read_power_saver(bus)).value is True
    finally:
        bus.disconnect()


async def test_source_follows_metered_signal(services: SimpleNamespace, tmp_path: Path) -> None:
    async def never(_seconds: float) -> None:
        await asyncio.Event().wait()

    source = LinuxDeviceSource(
        tmp_path,
        root=tmp_path,
        bus_address=services.address,
        sleep=never,
        disk_usage=lambda _p: SimpleNamespace(total=1 << 40, used=0, free=1 << 39),
        sensors_battery=lambda: None,
        sensors_temperatures=dict,
    )
    assert source.snapshot().network is None  # the fixture root has no routes
    states: asyncio.Queue[DeviceState] = asyncio.Queue()
    source.add_listener(states.put_nowait)
    task = asyncio.create_task(source.run())
    try:
        state = await asyncio.wait_for(states.get(), 10)
        while state.network is None or state.network.name != "Home Wi-Fi" or not state.power_saver:
            state = await asyncio.wait_for(states.get(), 10)
        assert state.network.transport is Transport.WIFI
        assert not state.network.metered
        assert "NetworkManager" in source.describe()["network"]
        services.manager.set_metered(1)  # NM_METERED_YES
        state = await asyncio.wait_for(states.get(), 10)
        assert state.network is not None
        assert state.network.metered
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.mark.parametrize(("registration_state", "roaming"), [(5, True), (1, False)])
async def test_cellular_roaming_from_modemmanager(
    bus_address: str, registration_state: int, roaming: bool
) -> None:
    services = await MessageBus(bus_address=bus_address).connect()
    manager = FakeNetworkManager(connection_type="gsm")
    manager.metered = 3  # NM_METERED_GUESS_YES
    services.export("/org/freedesktop/NetworkManager", manager)
    services.export("/org/freedesktop/ModemManager1/Modem/0", FakeModem3gpp(registration_state))
    await services.request_name("org.freedesktop.NetworkManager")
    await services.request_name("org.freedesktop.ModemManager1")
    bus = await dbus_readers.connect_bus(bus_address)
    assert bus is not None
    try:
        network = (await dbus_readers.read_networkmanager(bus)).value
        assert network is not None
        assert network.transport is Transport.CELLULAR
        assert network.metered
        assert network.roaming is roaming
        assert network.name == ACTIVE_PATH  # no active-connection object: the path names it
    finally:
        bus.disconnect()
        services.disconnect()


async def test_no_bus_falls_back_to_kernel(tmp_path: Path) -> None:
    assert await dbus_readers.connect_bus(f"unix:path={tmp_path / 'nothing'}") is None


async def test_bus_without_networkmanager_uses_the_kernel(bus_address: str, tmp_path: Path) -> None:
    ready = asyncio.Event()

    async def sleep(_seconds: float) -> None:
        ready.set()
        await asyncio.Event().wait()

    source = LinuxDeviceSource(
        tmp_path,
        root=tmp_path,
        bus_address=bus_address,
        sleep=sleep,
        disk_usage=lambda _p: SimpleNamespace(total=1 << 40, used=0, free=1 << 39),
        sensors_battery=lambda: None,
        sensors_temperatures=dict,
    )
    task = asyncio.create_task(source.run())
    try:
        await asyncio.wait_for(ready.wait(), 10)
        described = source.describe()
        assert "no NetworkManager on D-Bus: kernel fallback" in described["network"]
        assert described["power_saver"] == "no power-profiles-daemon"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
