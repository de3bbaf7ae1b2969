"""Thermal restriction (docs/android-semantics.md#thermal). Restricted running jobs stop with DEVICE_STATE / DEVICE_THERMAL."""

from __future__ import annotations

from uidt.device.state import ThermalStatus
from uidt.job.priority import Priority
from uidt.server.status import JobStatus


def thermally_restricted(
    status: JobStatus,
    thermal: ThermalStatus,
    *,
    app_visible: bool,
    running_within_guarantee: bool,
) -> bool:
    """Whether the thermal status vetoes the job.

    A visible (TOP) app's jobs are never restricted. SEVERE and above restrict every other job,
    user-initiated ones too. MODERATE spares treated UIJs, and HIGH-priority jobs still within
    their guarantee. LIGHT restricts MIN, and LOW unless running within its guarantee.
    """
    if app_visible or thermal <= ThermalStatus.NONE:
        return False
    if thermal >= ThermalStatus.SEVERE:
        return True
    priority = status.effective_priority
    if thermal == ThermalStatus.MODERATE:
        if status.treated_as_uij:
            return False
        if priority == Priority.HIGH:
            return not running_within_guarantee
        return True
    if priority <= Priority.MIN:
        return True
    if priority == Priority.LOW:
        return not running_within_guarantee
    return False
