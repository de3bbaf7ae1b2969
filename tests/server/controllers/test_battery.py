"""Battery and storage controllers set only their bits (docs/android-semantics.md#battery-and-storage)."""

from __future__ import annotations

from server.helpers import APP, uij
from uidt.device.state import DeviceState
from uidt.job import JobInfo
from uidt.job.key import JobKey
from uidt.server.controllers import battery_bits, storage_bits
from uidt.server.status import Constraint, JobStatus


def status_of(job: JobInfo) -> JobStatus:
    return JobStatus(JobKey(APP, None, 1), job, enqueue_elapsed=0)


def test_battery_and_storage_bits() -> None:
    status = status_of(uij())
    assert battery_bits(status, DeviceState(), app_visible=False) == (
        Constraint.CHARGING | Constraint.BATTERY_NOT_LOW
    )
    unplugged = DeviceState(plugged=False, charging=False)
    assert battery_bits(status, unplugged, app_visible=True) == Constraint.BATTERY_NOT_LOW
    low = DeviceState(battery_not_low=False, charging=True)
    assert battery_bits(status, low, app_visible=False) == Constraint.NONE
    assert battery_bits(status, low, app_visible=True) == Constraint.CHARGING
    assert storage_bits(DeviceState(storage_low=True)) == Constraint.NONE
