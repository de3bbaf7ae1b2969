"""Thermal restriction (docs/android-semantics.md#thermal) and memory-pressure slots (docs/android-semantics.md#concurrency)."""

from __future__ import annotations

import pytest

from server.helpers import APP, regular, uij
from uidt.device.state import MemoryPressure, ThermalStatus
from uidt.job import JobInfo, Priority
from uidt.job.key import JobKey
from uidt.server.restrictions import max_total_jobs, thermally_restricted, ui_reserved_slots
from uidt.server.status import JobStatus


def status_of(job: JobInfo) -> JobStatus:
    return JobStatus(JobKey(APP, None, 1), job, enqueue_elapsed=0)


@pytest.mark.parametrize(
    ("thermal", "job", "visible", "within", "restricted"),
    [
        (ThermalStatus.NONE, "low", False, False, False),
        (ThermalStatus.SEVERE, "uij", False, True, True),
        (ThermalStatus.SEVERE, "uij", True, False, False),
        (ThermalStatus.MODERATE, "uij", False, False, False),
        (ThermalStatus.MODERATE, "high", False, True, False),
        (ThermalStatus.MODERATE, "high", False, False, True),
        (ThermalStatus.MODERATE, "default", False, True, True),
        (ThermalStatus.LIGHT, "min", False, True, True),
        (ThermalStatus.LIGHT, "low", False, True, False),
        (ThermalStatus.LIGHT, "low", False, False, True),
        (ThermalStatus.LIGHT, "default", False, False, False),
    ],
)
def test_thermal(
    thermal: ThermalStatus, job: str, visible: bool, within: bool, restricted: bool
) -> None:
    priorities = {
        "min": Priority.MIN,
        "low": Priority.LOW,
        "default": Priority.DEFAULT,
        "high": Priority.HIGH,
    }
    info = uij() if job == "uij" else regular(priority=priorities[job])
    assert (
        thermally_restricted(
            status_of(info), thermal, app_visible=visible, running_within_guarantee=within
        )
        is restricted
    )


def test_memory_pressure_shrinks_slots() -> None:
    assert [max_total_jobs(40, m) for m in MemoryPressure] == [40, 36, 24, 16]
    assert ui_reserved_slots(40, MemoryPressure.NORMAL) == 8
    assert ui_reserved_slots(1, MemoryPressure.CRITICAL) == 0
