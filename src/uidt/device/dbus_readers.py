"""Best-effort readers over the system D-Bus: NetworkManager, ModemManager, power-profiles-daemon.

All of this is optional. :func:`connect_system_bus` returns ``None`` when there is no bus (as on
machines without systemd); callers then fall back to the kernel readers and say so in ``describe()``.
Messages are sent by hand (``GetAll``, ``GetManagedObjects``) rather than through introspected
proxies, so a missing service costs one round trip and nothing else.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus

from uidt.device.reading import Reading
from uidt.device.state import NetworkState
from uidt.job.network import Transport

NM_NAME = "org.freedesktop.NetworkManager"
NM_PATH = "/org/freedesktop/NetworkManager"
NM_INTERFACE = "org.freedesktop.NetworkManager"
NM_ACTIVE_INTERFACE = "org.freedesktop.NetworkManager.Connection.Active"
MM_NAME = "org.freedesktop.ModemManager1"
MM_PATH = "/org/freedesktop/ModemManager1"
MM_3GPP_INTERFACE = "org.freedesktop.ModemManager1.Modem.Modem3gpp"
#: MM_MODEM_3GPP_REGISTRATION_STATE_ROAMING and its SMS-only / CSFB-not-preferred variants.
MM_ROAMING_STATES = frozenset({5, 7, 10})
#: (bus name, object path, interface) of power-profiles-daemon, new name first.
POWER_PROFILES = (
    ("org.freedesktop.UPower.PowerProfiles", "/org/freedesktop/UPower/PowerProfiles",
     "org.freedesktop.UPower.PowerProfiles"),
    ("net.hadess.PowerProfiles", "/net/hadess/PowerProfiles", "net.hadess.PowerProfiles"),
)  # fmt: skip

NM_METERED_YES = 1
NM_METERED_GUESS_YES = 3
NM_CONNECTIVITY_FULL = 4
NM_STATE_CONNECTED_GLOBAL = 70

SYSTEM_BUS_SOCKET = Path("/run/dbus/system_bus_socket")
CALL_TIMEOUT_S = 2.0

_CONNECTION_TYPES: dict[str, Transport] = {
    "802-11-wireless": Transport.WIFI,
    "802-3-ethernet": Transport.ETHERNET,
    "gsm": Transport.CELLULAR,
    "cdma": Transport.CELLULAR,
    "bluetooth": Transport.CELLULAR,
    "vpn": Transport.VPN,
    "wireguard": Transport.VPN,
    "tun": Transport.VPN,
}


class DbusUnavailable(Exception):
    """A D-Bus call failed or timed out (internal; callers fall back)."""


def transport_for_connection_type(connection_type: str) -> Transport:
    """NetworkManager's connection type (``802-11-wireless``...) as a transport; unknown → Ethernet."""
    return _CONNECTION_TYPES.get(connection_type, Transport.ETHERNET)


def system_bus_address() -> str | None:
    """``$DBUS_SYSTEM_BUS_ADDRESS``, else the standard socket if it exists, else ``None``."""
    address = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    if address:
        return address
    if SYSTEM_BUS_SOCKET.exists():
        return f"unix:path={SYSTEM_BUS_SOCKET}"
    return None


async def connect_bus(address: str | None) -> MessageBus | None:
    """Connect to the bus at ``address`` (the system bus when ``None``); ``None`` if that fails."""
    if address is None:
        address = system_bus_address()
        if address is None:
            return None
    try:
        bus = MessageBus(bus_address=address, bus_type=BusType.SYSTEM)
        return await asyncio.wait_for(bus.connect(), CALL_TIMEOUT_S)
    except Exception:  # no socket, refused, auth failure, timeout: all mean "no bus"
        return None


async def call(bus: MessageBus, message: Message) -> list[Any]:
    """Send ``message`` and return the reply body; :class:`DbusUnavailable` on error or timeout."""
    try:
        reply = await asyncio.wait_for(bus.call(message), CALL_TIMEOUT_S)
    except Exception as error:  # timeouts, disconnects, dbus_fast errors
        raise DbusUnavailable(str(error)) from error
    if reply is None or reply.message_type is MessageType.ERROR:
        detail = reply.body[0] if reply is not None and reply.body else "no reply"
        raise DbusUnavailable(f"{message.member}: {getattr(reply, 'error_name', '')} {detail}")
    return list(reply.body)


async def get_all(bus: MessageBus, name: str, path: str, interface: str) -> dict[str, Any]:
    """All properties of ``interface`` at ``path``, unwrapped from their variants."""
    body = await call(
        bus,
        Message(
            destination=name,
            path=path,
            interface="org.freedesktop.DBus.Properties",
            member="GetAll",
            signature="s",
            body=[interface],
        ),
    )
    return {key: variant.value for key, variant in body[0].items()}


async def name_has_owner(bus: MessageBus, name: str) -> bool:
    """Whether some process owns ``name`` on the bus."""
    try:
        body = await call(
            bus,
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="NameHasOwner",
                signature="s",
                body=[name],
            ),
        )
    except DbusUnavailable:
        return False
    return bool(body[0])


async def watch_properties(bus: MessageBus, sender: str, on_change: Callable[[], None]) -> None:
    """Call ``on_change`` whenever ``sender`` emits ``PropertiesChanged`` on any object."""
    rule = f"type='signal',sender='{sender}',member='PropertiesChanged'"
    await call(
        bus,
        Message(
            destination="org.freedesktop.DBus",
            path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus",
            member="AddMatch",
            signature="s",
            body=[rule],
        ),
    )

    def handler(message: Message) -> None:
        if message.message_type is MessageType.SIGNAL and message.member == "PropertiesChanged":
            on_change()

    bus.add_message_handler(handler)


async def read_roaming(bus: MessageBus) -> bool:
    """Whether any ModemManager modem is registered as roaming (False without ModemManager)."""
    try:
        body = await call(
            bus,
            Message(
                destination=MM_NAME,
                path=MM_PATH,
                interface="org.freedesktop.DBus.ObjectManager",
                member="GetManagedObjects",
            ),
        )
    except DbusUnavailable:
        return False
    for interfaces in body[0].values():
        modem = interfaces.get(MM_3GPP_INTERFACE)
        if modem is None:
            continue
        state = modem.get("RegistrationState")
        if state is not None and state.value in MM_ROAMING_STATES:
            return True
    return False


async def read_networkmanager(bus: MessageBus) -> Reading[NetworkState | None]:
    """The primary connection as NetworkManager sees it; raises :class:`DbusUnavailable`."""
    props = await get_all(bus, NM_NAME, NM_PATH, NM_INTERFACE)
    primary = str(props.get("PrimaryConnection", "/"))
    if primary in ("", "/"):
        return Reading(None, "NetworkManager: no primary connection")
    connection_type = str(props.get("PrimaryConnectionType", ""))
    name = primary
    try:
        active = await get_all(bus, NM_NAME, primary, NM_ACTIVE_INTERFACE)
        connection_type = str(active.get("Type", connection_type))
        name = str(active.get("Id", "") or primary)
    except DbusUnavailable:
        pass  # the main object's PrimaryConnectionType is enough
    transport = transport_for_connection_type(connection_type)
    metered = int(props.get("Metered", 0)) in (NM_METERED_YES, NM_METERED_GUESS_YES)
    connectivity = int(props.get("Connectivity", 0))
    roaming = await read_roaming(bus) if transport is Transport.CELLULAR else False
    network = NetworkState(
        transport=transport,
        metered=metered,
        roaming=roaming,
        validated=connectivity == NM_CONNECTIVITY_FULL,
        vpn=transport is Transport.VPN,
        name=name,
    )
    return Reading(
        network,
        f"NetworkManager: {name} ({connection_type or 'unknown type'}),"
        f" Metered={props.get('Metered')}, Connectivity={connectivity}",
    )


async def read_power_saver(bus: MessageBus) -> Reading[bool]:
    """``ActiveProfile == "power-saver"`` from power-profiles-daemon; raises if it is absent."""
    for name, path, interface in POWER_PROFILES:
        try:
            props = await get_all(bus, name, path, interface)
        except DbusUnavailable:
            continue
        profile = str(props.get("ActiveProfile", ""))
        return Reading(profile == "power-saver", f"power-profiles-daemon: {profile}")
    raise DbusUnavailable("power-profiles-daemon not on the bus")
