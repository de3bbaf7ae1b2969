"""Public test kit: a fake clock, a fake device, in-process apps and a driver for the core."""

from __future__ import annotations

from uidt.device.fake import FakeDeviceSource
from uidt.testing.apps import AppBehaviour, InProcessApps, run_until_idle
from uidt.testing.clock import FakeClock

__all__ = [
    "AppBehaviour",
    "FakeClock",
    "FakeDeviceSource",
    "InProcessApps",
    "run_until_idle",
]
