"""``ReaderHealth``: a failing reader keeps its last value; failure and recovery logged once."""

from __future__ import annotations

import logging

import pytest

from uidt.device.health import ReaderHealth
from uidt.device.reading import Reading
from uidt.testing import FakeClock

LOGGER = logging.getLogger("tests.device.health")


def _broken() -> Reading[int]:
    raise OSError("sensor gone")


def test_a_failing_reader_keeps_its_last_value_and_is_logged_once_each_way(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(elapsed=100)
    health = ReaderHealth(clock, LOGGER)
    last = health.attempt("thermal", lambda: Reading(1, "sysfs"), Reading(0, "not read yet"))
    assert last == Reading(1, "sysfs")
    assert health.last_success_ms() == {"thermal": 100}
    clock.advance(50)
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        for _ in range(3):
            assert health.attempt("thermal", _broken, last) is last
        assert health.attempt("thermal", lambda: Reading(2, "sysfs"), last).value == 2
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "Device reader thermal failed, keeping its last value: sensor gone",
        "Device reader thermal works again",
    ]
    assert health.last_success_ms() == {"thermal": 150}


def test_last_success_is_a_copy() -> None:
    health = ReaderHealth(FakeClock(), LOGGER)
    health.succeeded("power")
    health.last_success_ms().clear()
    assert list(health.last_success_ms()) == ["power"]
