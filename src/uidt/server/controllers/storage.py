"""Storage controller: the STORAGE_NOT_LOW bit (reference §8.1)."""

from __future__ import annotations

from uidt.device.state import DeviceState
from uidt.server.status import Constraint


def storage_bits(device: DeviceState) -> Constraint:
    """STORAGE_NOT_LOW unless the device reports low storage."""
    return Constraint.NONE if device.storage_low else Constraint.STORAGE_NOT_LOW
