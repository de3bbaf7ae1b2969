"""Fixtures for transfer tests: a real loopback server and a sleep that does not wait."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from uidt.testing.httpserver import RecordingSleep, TransferTestServer


@pytest.fixture
async def server() -> AsyncIterator[TransferTestServer]:
    async with TransferTestServer() as running:
        yield running


@pytest.fixture
def no_wait() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture(scope="session")
def payload() -> bytes:
    return os.urandom(3 * 1024 * 1024 + 12345)
