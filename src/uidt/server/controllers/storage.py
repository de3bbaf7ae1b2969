"""Storage controller: the STORAGE_NOT_LOW bit (docs/android-semantics.md#battery-and-storage)."""

from __future__ import annotations

from uidt.device.state import DeviceState
from uidt.server.status import Bit


def storage_bits(device: DeviceState) -> int:
    """STORAGE_NOT_LOW unless the device reports low storage."""
    return Bit.NONE if device.storage_low else Bit.STORAGE_NOT_LOW
