"""Battery and power from ``/sys/class/power_supply`` (psutil as a fallback).

A machine with no battery is on power, charging, at 100 % and never low. "Charging" means on power
and not discharging (a full battery on AC counts as charging, as Android's "charging" constraint does).
``battery_not_low`` follows the 20 %/25 % hysteresis of :func:`uidt.device.state.next_battery_not_low`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from uidt.device.reading import Reading, read_int, read_text, under
from uidt.device.state import next_battery_not_low

_MAINS_TYPES = frozenset({"Mains", "USB", "USB_C", "USB_PD", "USB_DCP", "USB_CDP", "Wireless"})

SensorsBattery = Callable[[], Any]


@dataclass(frozen=True, slots=True)
class PowerReading:
    """Battery level (0-100), on power, charging, and not-low (with hysteresis)."""

    level: int = 100
    plugged: bool = True
    charging: bool = True
    battery_not_low: bool = True


def _psutil_battery() -> Any:
    sensors = getattr(psutil, "sensors_battery", None)
    return sensors() if sensors is not None else None


def read_power(
    root: Path = Path("/"),
    *,
    previous_not_low: bool = True,
    sensors_battery: SensorsBattery = _psutil_battery,
) -> Reading[PowerReading]:
    """Read the batteries and mains supplies; ``previous_not_low`` feeds the hysteresis."""
    supplies = under(root, "/sys/class/power_supply")
    levels: list[int] = []
    statuses: list[str] = []
    mains_online: list[bool] = []
    try:
        entries = sorted(supplies.iterdir()) if supplies.is_dir() else []
    except OSError:
        entries = []
    for entry in entries:
        kind = read_text(entry / "type")
        if kind == "Battery":
            if read_text(entry / "scope") == "Device":
                continue  # a mouse or headset battery, not the machine's
            capacity = read_int(entry / "capacity")
            if capacity is None:
                continue
            levels.append(max(0, min(100, capacity)))
            statuses.append(read_text(entry / "status") or "Unknown")
        elif kind in _MAINS_TYPES:
            mains_online.append(read_int(entry / "online") == 1)
    if levels:
        level = round(sum(levels) / len(levels))
        discharging = "Discharging" in statuses
        plugged = any(mains_online) if mains_online else not discharging
        return _reading(level, plugged, discharging, previous_not_low, "sysfs power_supply")
    if mains_online:
        plugged = any(mains_online)
        if not plugged:
            return _reading(100, False, True, previous_not_low, "sysfs power_supply (no battery)")
    try:
        battery = sensors_battery()
    except Exception:  # psutil raises assorted errors on odd platforms
        battery = None
    if battery is not None:
        level = max(0, min(100, round(float(battery.percent))))
        on_power = battery.power_plugged
        plugged = bool(on_power) if on_power is not None else False
        return _reading(level, plugged, not plugged, previous_not_low, "psutil")
    return Reading(PowerReading(), "no battery: on power, never low")


def _reading(
    level: int, plugged: bool, discharging: bool, previous_not_low: bool, source: str
) -> Reading[PowerReading]:
    charging = plugged and not discharging
    not_low = next_battery_not_low(previous_not_low, level, plugged)
    state = "charging" if charging else ("plugged" if plugged else "discharging")
    return Reading(PowerReading(level, plugged, charging, not_low), f"{source}: {level}% {state}")
