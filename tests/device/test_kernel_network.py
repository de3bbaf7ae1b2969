from __future__ import annotations

from pathlib import Path

import pytest

from uidt.device.kernel_network import default_routes, read_kernel_network, transport_for_interface
from uidt.job.network import Transport

from .tree import ROUTE_HEADER, add_interface, route_line, set_routes


def test_default_routes_sorted_by_metric_and_ignores_other_routes() -> None:
    table = ROUTE_HEADER + "".join(
        [
            route_line("wlan0", "00000000", 600),
            route_line("eth0", "0000A8C0", 0, mask="00FFFFFF"),
            route_line("eth0", "00000000", 100),
            route_line("tun0", "00000000", 50, flags="0002"),  # not up
        ]
    )
    assert [(r.interface, r.metric) for r in default_routes(table)] == [
        ("eth0", 100),
        ("wlan0", 600),
    ]


@pytest.mark.parametrize(
    ("name", "transport"),
    [
        ("wlan0", Transport.WIFI),
        ("wlp2s0", Transport.WIFI),
        ("eth0", Transport.ETHERNET),
        ("enp3s0", Transport.ETHERNET),
        ("br0", Transport.ETHERNET),
        ("wwan0", Transport.CELLULAR),
        ("rmnet_data0", Transport.CELLULAR),
        ("usb0", Transport.CELLULAR),
        ("tun0", Transport.VPN),
        ("wg0", Transport.VPN),
        ("tap1", Transport.VPN),
    ],
)
def test_transport_for_interface(name: str, transport: Transport) -> None:
    assert transport_for_interface(name) is transport


def test_eth0_default_route_is_unmetered_ethernet(root: Path) -> None:
    reading = read_kernel_network(root)
    assert reading.value is not None
    assert reading.value.transport is Transport.ETHERNET
    assert not reading.value.metered
    assert reading.value.validated
    assert reading.value.name == "eth0"
    assert "eth0" in reading.source


def test_no_default_route_means_no_network(root: Path) -> None:
    set_routes(root, route_line("eth0", "0000A8C0", 0, mask="00FFFFFF"))
    reading = read_kernel_network(root)
    assert reading.value is None
    assert reading.source == "kernel: no default route"


def test_lowest_metric_wins_and_down_interface_is_skipped(root: Path) -> None:
    add_interface(root, "wlan0")
    add_interface(root, "wwan0")
    set_routes(root, route_line("wwan0", "00000000", 700), route_line("wlan0", "00000000", 600))
    assert read_kernel_network(root).value.transport is Transport.WIFI  # type: ignore[union-attr]
    add_interface(root, "wlan0", operstate="down", carrier="0")
    network = read_kernel_network(root).value
    assert network is not None
    assert network.transport is Transport.CELLULAR
    assert network.metered


def test_no_carrier_means_no_network(root: Path) -> None:
    add_interface(root, "eth0", operstate="up", carrier="0")
    reading = read_kernel_network(root)
    assert reading.value is None
    assert "no carrier" in reading.source


def test_missing_route_file(tmp_path: Path) -> None:
    assert read_kernel_network(tmp_path).value is None
