"""A private D-Bus session bus and a fake notification server on it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest
from dbus_fast.aio import MessageBus

from uidt.notify.desktop import BUS_NAME, OBJECT_PATH

from .fake_server import FakeNotificationServer


@pytest.fixture
def session_bus() -> Iterator[str]:
    """Start a private session bus (``dbus-daemon --session``); yield its address."""
    exe = shutil.which("dbus-daemon")
    if exe is None:
        pytest.skip(
            "dbus-daemon is missing: `apt-get install -y dbus` (.ci/install-browser does it)"
        )
    out = subprocess.run(
        [exe, "--session", "--fork", "--print-address=1", "--print-pid=1"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout.split()
    address, pid = out[0], int(out[1])
    try:
        yield address
    finally:
        os.kill(pid, signal.SIGTERM)


@pytest.fixture
def capabilities() -> list[str]:
    """What the fake server advertises (override in a test module or with parametrize)."""
    return ["actions", "body", "body-markup"]


@pytest.fixture
async def notification_server(
    session_bus: str, capabilities: list[str]
) -> AsyncIterator[FakeNotificationServer]:
    """A fake notification server owning ``org.freedesktop.Notifications`` on the private bus."""
    bus = await MessageBus(bus_address=session_bus).connect()
    server = FakeNotificationServer(capabilities)
    bus.export(OBJECT_PATH, server)
    await bus.request_name(BUS_NAME)
    try:
        yield server
    finally:
        bus.disconnect()
