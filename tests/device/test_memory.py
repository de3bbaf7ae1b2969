from __future__ import annotations

from pathlib import Path

import pytest

from uidt.device.memory import read_memory
from uidt.device.state import MemoryPressure

from .tree import set_meminfo, set_psi


@pytest.mark.parametrize(
    ("some", "full", "level"),
    [
        (0.0, 0.0, MemoryPressure.NORMAL),
        (10.0, 0.0, MemoryPressure.MODERATE),
        (30.0, 0.0, MemoryPressure.LOW),
        (12.0, 5.0, MemoryPressure.LOW),
        (60.0, 0.0, MemoryPressure.CRITICAL),
        (25.0, 20.0, MemoryPressure.CRITICAL),
    ],
)
def test_psi_levels(tmp_path: Path, some: float, full: float, level: MemoryPressure) -> None:
    set_psi(tmp_path, some, full)
    assert read_memory(tmp_path).value is level


@pytest.mark.parametrize(
    ("available", "level"),
    [
        (500, MemoryPressure.NORMAL),
        (100, MemoryPressure.MODERATE),
        (50, MemoryPressure.LOW),
        (20, MemoryPressure.CRITICAL),
    ],
)
def test_meminfo_fallback(tmp_path: Path, available: int, level: MemoryPressure) -> None:
    set_meminfo(tmp_path, 1000, available)
    reading = read_memory(tmp_path)
    assert reading.value is level
    assert "PSI" not in reading.source


def test_worse_of_psi_and_meminfo(tmp_path: Path) -> None:
    set_psi(tmp_path, 0.0, 0.0)
    set_meminfo(tmp_path, 1000, 20)
    assert read_memory(tmp_path).value is MemoryPressure.CRITICAL


def test_nothing_readable_raises(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="meminfo"):
        read_memory(tmp_path)
