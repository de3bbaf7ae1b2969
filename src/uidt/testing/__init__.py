"""Public test kit: a fake clock, a fake device, in-process apps and a driver for the core.

A scenario reads as Given / When / Then::

    clock = FakeClock()
    core = JobSchedulerService(clock=clock, settings=Settings(), device=DeviceState(),
                               installed_memory_bytes=8 << 30, apps={app.package: app})
    core.schedule(Caller(app.package, visible=True), None, job)      # Given a scheduled UIJ
    run_until_idle(core, InProcessApps(core))                        # it binds, starts, notifies
    clock.advance(12 * 3_600_000); core.tick()                       # When 12 h pass
    assert isinstance(core.take_actions()[0], StopJob)               # Then it is stopped
"""

from __future__ import annotations

from uidt.device.fake import FakeDeviceSource
from uidt.host.launcher import InProcessLauncher
from uidt.store.memory import MemoryJobStore
from uidt.testing.apps import AppBehaviour, InProcessApps, run_until_idle
from uidt.testing.clock import FakeClock

__all__ = [
    "AppBehaviour",
    "FakeClock",
    "FakeDeviceSource",
    "InProcessApps",
    "InProcessLauncher",
    "MemoryJobStore",
    "run_until_idle",
]
