"""``LatestReadings``: the readers' latest values make the snapshot; bandwidth per network."""

from __future__ import annotations

from uidt.device.latest import LatestReadings
from uidt.device.power import PowerReading
from uidt.device.reading import Reading
from uidt.device.state import DeviceState, NetworkState, ThermalStatus


def test_nothing_read_yet_is_the_default_device() -> None:
    latest = LatestReadings()
    assert latest.snapshot() == DeviceState(network=None)
    assert latest.bandwidth_note() == "unknown until measured"


def test_bandwidth_is_reported_only_while_its_network_is_current() -> None:
    latest = LatestReadings(network=Reading(NetworkState(name="wlan0"), "kernel"))
    latest.record_bandwidth("eth0", 9_000, 1_000)
    assert latest.snapshot().network == NetworkState(name="wlan0")
    latest.record_bandwidth("wlan0", 5_000, -3)  # a negative figure counts as 0
    network = latest.snapshot().network
    assert network is not None
    assert (network.downstream_kbps, network.upstream_kbps) == (5_000, 0)
    assert latest.bandwidth_note() == "measured on wlan0: 5000/0 kbps"


def test_each_reading_lands_in_its_field() -> None:
    latest = LatestReadings()
    latest.power = Reading(PowerReading(level=15, plugged=False, charging=False), "psutil")
    latest.storage = Reading(True, "statvfs")
    latest.thermal = Reading(ThermalStatus.SEVERE, "sysfs")
    latest.power_saver = Reading(True, "power-profiles-daemon")
    state = latest.snapshot()
    assert (state.battery_level, state.plugged, state.charging) == (15, False, False)
    assert (state.storage_low, state.thermal, state.power_saver) == (
        True,
        ThermalStatus.SEVERE,
        True,
    )
