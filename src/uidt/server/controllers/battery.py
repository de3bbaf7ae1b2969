"""Battery controller: CHARGING and BATTERY_NOT_LOW bits (docs/android-semantics.md#battery-and-storage)."""

from __future__ import annotations

from uidt.device.state import DeviceState
from uidt.job.priority import Priority
from uidt.server.status import Bit, JobStatus


def battery_bits(status: JobStatus, device: DeviceState, *, app_visible: bool) -> int:
    """The CHARGING / BATTERY_NOT_LOW bits this controller grants the job.

    Charging means "stable power" (charging and battery not low); for a visible app's job of at
    least DEFAULT priority, power connected is enough.
    """
    bits = Bit.NONE
    if device.battery_not_low:
        bits |= Bit.BATTERY_NOT_LOW
    stable_power = device.charging and device.battery_not_low
    if stable_power or (
        app_visible and device.plugged and status.effective_priority >= Priority.DEFAULT
    ):
        bits |= Bit.CHARGING
    return bits
