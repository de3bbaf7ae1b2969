from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from uidt.device.state import ThermalStatus
from uidt.device.thermal import read_thermal

from .tree import add_zone


def _no_sensors() -> dict[str, list[Any]]:
    return {}


@pytest.mark.parametrize(
    ("temp_c", "status"),
    [
        (50.0, ThermalStatus.NONE),
        (60.0, ThermalStatus.NONE),
        (60.5, ThermalStatus.LIGHT),
        (70.0, ThermalStatus.LIGHT),
        (75.0, ThermalStatus.MODERATE),
        (80.0, ThermalStatus.SEVERE),
        (99.0, ThermalStatus.SEVERE),
        (100.0, ThermalStatus.CRITICAL),
    ],
)
def test_trip_levels(tmp_path: Path, temp_c: float, status: ThermalStatus) -> None:
    add_zone(tmp_path, 0, temp_c, {"active": 50.0, "passive": 80.0, "critical": 100.0})
    assert read_thermal(tmp_path, sensors_temperatures=_no_sensors).value is status


def test_worst_zone_wins(tmp_path: Path) -> None:
    add_zone(tmp_path, 0, 30.0, {"passive": 80.0, "critical": 100.0})
    add_zone(tmp_path, 1, 85.0, {"passive": 80.0, "critical": 100.0})
    reading = read_thermal(tmp_path, sensors_temperatures=_no_sensors)
    assert reading.value is ThermalStatus.SEVERE
    assert "thermal_zone1" in reading.source


def test_no_zones(tmp_path: Path) -> None:
    reading = read_thermal(tmp_path, sensors_temperatures=_no_sensors)
    assert reading.value is ThermalStatus.NONE
    assert reading.source == "no thermal zones"


def test_psutil_marks_fallback(tmp_path: Path) -> None:
    def sensors() -> dict[str, list[Any]]:
        return {
            "coretemp": [SimpleNamespace(label="Package", current=91.0, high=90.0, critical=105.0)]
        }

    reading = read_thermal(tmp_path, sensors_temperatures=sensors)
    assert reading.value is ThermalStatus.SEVERE
    assert reading.source.startswith("psutil")
