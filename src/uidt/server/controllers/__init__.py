"""Constraint controllers: each owns its constraint bits and only sets them (architecture rule 2)."""

from __future__ import annotations

from uidt.server.controllers.background import background_bits
from uidt.server.controllers.battery import battery_bits
from uidt.server.controllers.connectivity import connectivity_satisfied, transfer_ms
from uidt.server.controllers.storage import storage_bits

__all__ = [
    "background_bits",
    "battery_bits",
    "connectivity_satisfied",
    "storage_bits",
    "transfer_ms",
]
