"""Fixtures for scenario tests of the scheduler core: Given an installed app and a fake device."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.helpers import APP, GIB, make_app
from uidt.device.state import DeviceState
from uidt.server import JobSchedulerService
from uidt.server.invariants import broken_invariants
from uidt.settings import Settings
from uidt.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def service(clock: FakeClock, settings: Settings) -> Iterator[JobSchedulerService]:
    """The core; after the test, every invariant of its parts must still hold."""
    service = JobSchedulerService(
        clock=clock,
        settings=settings,
        device=DeviceState(),
        installed_memory_bytes=16 * GIB,
        apps={APP: make_app()},
    )
    yield service
    assert broken_invariants(service) == []
