"""Thermal status from ``/sys/class/thermal/thermal_zone*`` (psutil's marks as a fallback).

Each zone is judged against its own trip points and the worst zone wins:

* at or above the lowest ``critical`` trip → CRITICAL;
* at or above the lowest ``passive`` trip → SEVERE (UIDT jobs stop here);
* below passive by less than 10 °C → MODERATE, by 10-20 °C → LIGHT, by 20 °C or more → NONE.

A zone with no passive trip is measured against its critical trip instead (so it reaches
MODERATE/LIGHT/NONE and CRITICAL but never SEVERE); a zone with no trips at all is NONE. psutil's
``high`` mark stands for passive and ``critical`` for critical. No zones at all → NONE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from uidt.device.reading import Reading, read_int, read_text, under
from uidt.device.state import ThermalStatus

#: Below the passive trip by at least this much (°C): NONE.
NONE_MARGIN_C = 20.0
#: Below the passive trip by at least this much (°C): LIGHT; less → MODERATE.
LIGHT_MARGIN_C = 10.0

SensorsTemperatures = Callable[[], Mapping[str, Sequence[Any]]]


@dataclass(frozen=True, slots=True)
class Zone:
    """One thermal zone: current temperature and trip points, all in °C."""

    name: str
    temp_c: float
    passive_c: float | None = None
    critical_c: float | None = None


def zone_status(zone: Zone) -> ThermalStatus:
    """The status of one zone against its trip points (see the module docstring)."""
    if zone.critical_c is not None and zone.temp_c >= zone.critical_c:
        return ThermalStatus.CRITICAL
    reference = zone.passive_c if zone.passive_c is not None else zone.critical_c
    if reference is None:
        return ThermalStatus.NONE
    if zone.passive_c is not None and zone.temp_c >= zone.passive_c:
        return ThermalStatus.SEVERE
    margin = reference - zone.temp_c
    if margin >= NONE_MARGIN_C:
        return ThermalStatus.NONE
    if margin >= LIGHT_MARGIN_C:
        return ThermalStatus.LIGHT
    return ThermalStatus.MODERATE


def _lowest(values: list[float]) -> float | None:
    return min(values) if values else None


def read_zones(root: Path = Path("/")) -> list[Zone]:
    """Every readable ``thermal_zone*`` with its passive and critical trips."""
    base = under(root, "/sys/class/thermal")
    try:
        paths = sorted(base.glob("thermal_zone*"))
    except OSError:
        return []
    zones: list[Zone] = []
    for path in paths:
        millidegrees = read_int(path / "temp")
        if millidegrees is None:
            continue
        passive: list[float] = []
        critical: list[float] = []
        for trip_type_path in sorted(path.glob("trip_point_*_type")):
            trip_type = read_text(trip_type_path)
            trip_temp = read_int(path / trip_type_path.name.replace("_type", "_temp"))
            if trip_temp is None or trip_temp <= 0:
                continue
            if trip_type == "passive":
                passive.append(trip_temp / 1000)
            elif trip_type == "critical":
                critical.append(trip_temp / 1000)
        label = read_text(path / "type") or path.name
        zones.append(
            Zone(f"{path.name}({label})", millidegrees / 1000, _lowest(passive), _lowest(critical))
        )
    return zones


def _psutil_temperatures() -> Mapping[str, Sequence[Any]]:
    sensors = getattr(psutil, "sensors_temperatures", None)
    return sensors() if sensors is not None else {}


def psutil_zones(sensors_temperatures: SensorsTemperatures = _psutil_temperatures) -> list[Zone]:
    """Zones from psutil's sensors, ``high`` as passive and ``critical`` as critical."""
    try:
        sensors = sensors_temperatures()
    except Exception:  # psutil raises assorted errors on odd platforms
        return []
    zones: list[Zone] = []
    for chip, entries in sensors.items():
        for index, entry in enumerate(entries):
            label = getattr(entry, "label", "") or f"{chip}{index}"
            high = getattr(entry, "high", None)
            critical = getattr(entry, "critical", None)
            zones.append(
                Zone(
                    f"{chip}/{label}",
                    float(entry.current),
                    float(high) if high else None,
                    float(critical) if critical else None,
                )
            )
    return zones


def read_thermal(
    root: Path = Path("/"),
    *,
    sensors_temperatures: SensorsTemperatures = _psutil_temperatures,
) -> Reading[ThermalStatus]:
    """The worst zone's status, from sysfs or else psutil."""
    zones = read_zones(root)
    origin = "sysfs thermal"
    if not zones:
        zones = psutil_zones(sensors_temperatures)
        origin = "psutil"
    if not zones:
        return Reading(ThermalStatus.NONE, "no thermal zones")
    worst = max(zones, key=lambda zone: (zone_status(zone), zone.temp_c))
    status = zone_status(worst)
    return Reading(status, f"{origin}: hottest {worst.name} at {worst.temp_c:.1f} °C")
