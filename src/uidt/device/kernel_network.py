"""The default network read from the kernel: ``/proc/net/route`` and ``/sys/class/net``.

Used when NetworkManager is not reachable. The kernel knows nothing of metering or validation, so:

* the transport is guessed from the interface name (:func:`transport_for_interface`);
* cellular-looking interfaces (``ww*``, ``rmnet*``, ``usb*``) are treated as **metered**, because
  Android treats cellular as metered unless the carrier says otherwise, and ``usb*`` on a Linux
  host is almost always USB tethering to a phone's mobile data; every other transport is unmetered;
* a usable default route counts as validated (nothing better can be known without probing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from uidt.device.reading import Reading, read_text, under
from uidt.device.state import NetworkState
from uidt.job.network import Transport

_RTF_UP = 0x1
_DOWN_OPERSTATES = frozenset({"down", "lowerlayerdown", "notpresent", "dormant"})
_CELLULAR_PREFIXES = ("ww", "rmnet", "usb")
_VPN_PREFIXES = ("tun", "wg", "tap", "ppp")
_WIFI_PREFIXES = ("wl",)


@dataclass(frozen=True, slots=True)
class Route:
    """One default route from ``/proc/net/route``."""

    interface: str
    metric: int


def default_routes(route_table: str) -> list[Route]:
    """The usable default routes in a ``/proc/net/route`` text, best (lowest metric) first."""
    routes: list[Route] = []
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        interface, destination, _gateway, flags, _refcnt, _use, metric, mask = fields[:8]
        try:
            is_up = int(flags, 16) & _RTF_UP
            is_default = int(destination, 16) == 0 and int(mask, 16) == 0
            metric_value = int(metric)
        except ValueError:
            continue
        if is_up and is_default:
            routes.append(Route(interface, metric_value))
    return sorted(routes, key=lambda route: route.metric)


def transport_for_interface(name: str) -> Transport:
    """Guess a transport from an interface name: ``wl*`` Wi-Fi, ``ww*``/``rmnet*``/``usb*``
    cellular, ``tun*``/``wg*``/``tap*``/``ppp*`` VPN, everything else (``en*``, ``eth*``...) Ethernet."""
    if name.startswith(_WIFI_PREFIXES):
        return Transport.WIFI
    if name.startswith(_CELLULAR_PREFIXES):
        return Transport.CELLULAR
    if name.startswith(_VPN_PREFIXES):
        return Transport.VPN
    return Transport.ETHERNET


def interface_is_up(root: Path, interface: str) -> tuple[bool, str]:
    """Whether ``/sys/class/net/IFACE`` says the link is usable, and why."""
    base = under(root, f"/sys/class/net/{interface}")
    return link_is_up(interface, read_text(base / "operstate"), read_text(base / "carrier"))


def link_is_up(interface: str, operstate: str | None, carrier: str | None) -> tuple[bool, str]:
    """Whether a link whose ``operstate`` and ``carrier`` files read so is usable, and why.

    ``None`` for a file that could not be read (``carrier`` cannot be read while the link is
    administratively down).
    """
    if operstate is None:
        return False, f"{interface} missing from /sys/class/net"
    if operstate in _DOWN_OPERSTATES:
        return False, f"{interface} operstate={operstate}"
    if carrier == "0":
        return False, f"{interface} has no carrier"
    return True, f"{interface} operstate={operstate}"


def read_kernel_network(root: Path = Path("/")) -> Reading[NetworkState | None]:
    """The network of the best usable default route, or ``None`` with the reason."""
    table = read_text(under(root, "/proc/net/route"))
    if table is None:
        return Reading(None, "kernel: /proc/net/route unreadable")
    routes = default_routes(table)
    if not routes:
        return Reading(None, "kernel: no default route")
    reasons: list[str] = []
    for route in routes:
        up, why = interface_is_up(root, route.interface)
        if not up:
            reasons.append(why)
            continue
        transport = transport_for_interface(route.interface)
        network = NetworkState(
            transport=transport,
            metered=transport is Transport.CELLULAR,
            vpn=transport is Transport.VPN,
            validated=True,
            name=route.interface,
        )
        metered = "metered (guessed)" if network.metered else "unmetered (guessed)"
        return Reading(
            network,
            f"kernel: default route via {why}, {transport.name.lower()} by name, {metered}",
        )
    return Reading(None, "kernel: default route down (" + "; ".join(reasons) + ")")
