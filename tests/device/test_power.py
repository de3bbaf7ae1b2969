from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from uidt.device.power import read_power

from .tree import add_battery, add_mains


def _none() -> None:
    return None


def test_no_battery_is_plugged_charging_never_low(tmp_path: Path) -> None:
    reading = read_power(tmp_path, sensors_battery=_none)
    assert (reading.value.level, reading.value.plugged, reading.value.charging) == (100, True, True)
    assert reading.value.battery_not_low
    assert "no battery" in reading.source


def test_hysteresis_across_20_and_25_percent(tmp_path: Path) -> None:
    add_mains(tmp_path, online=False)
    not_low = True
    seen = []
    for level in (30, 21, 20, 22, 24, 25, 22, 20):
        add_battery(tmp_path, level, "Discharging")
        not_low = read_power(
            tmp_path, previous_not_low=not_low, sensors_battery=_none
        ).value.battery_not_low
        seen.append(not_low)
    assert seen == [True, True, False, False, False, True, True, False]


def test_mains_online_is_plugged_and_not_low(tmp_path: Path) -> None:
    add_battery(tmp_path, 10, "Charging")
    add_mains(tmp_path, online=True)
    power = read_power(tmp_path, previous_not_low=False, sensors_battery=_none).value
    assert power.plugged
    assert power.charging
    assert power.battery_not_low
    add_battery(tmp_path, 10, "Discharging")
    add_mains(tmp_path, online=False)
    power = read_power(tmp_path, previous_not_low=True, sensors_battery=_none).value
    assert not power.plugged
    assert not power.charging
    assert not power.battery_not_low


def test_full_on_mains_counts_as_charging(tmp_path: Path) -> None:
    add_battery(tmp_path, 100, "Full")
    add_mains(tmp_path, online=True)
    assert read_power(tmp_path, sensors_battery=_none).value.charging


def test_device_scope_batteries_are_ignored(tmp_path: Path) -> None:
    add_battery(tmp_path, 5, "Discharging", name="hidpp_battery_0")
    (tmp_path / "sys/class/power_supply/hidpp_battery_0/scope").write_text("Device\n")
    assert read_power(tmp_path, sensors_battery=_none).value.level == 100


def test_psutil_fallback(tmp_path: Path) -> None:
    def battery() -> SimpleNamespace:
        return SimpleNamespace(percent=15.4, power_plugged=False, secsleft=100)

    reading = read_power(tmp_path, sensors_battery=battery)
    assert (reading.value.level, reading.value.plugged, reading.value.battery_not_low) == (
        15,
        False,
        False,
    )
    assert reading.source.startswith("psutil")
