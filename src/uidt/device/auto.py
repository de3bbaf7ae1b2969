"""``create_device_source``: the device source the daemon uses for ``--device auto|fake``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from uidt.device.fake import FakeDeviceSource
from uidt.device.linux import LinuxDeviceSource
from uidt.device.source import DeviceSource
from uidt.device.state import DeviceState


class NeutralDeviceSource(FakeDeviceSource):
    """A neutral, unchanging device for platforms uidt cannot read (says so in ``describe()``)."""

    def __init__(self, platform: str) -> None:
        super().__init__(DeviceState())
        self._platform = platform

    def describe(self) -> dict[str, str]:
        note = f"neutral: no device readers for {self._platform}"
        return dict.fromkeys(self.snapshot().to_dict(), note)


def create_device_source(
    kind: Literal["auto", "fake"],
    data_dir: Path,
    *,
    platform: str | None = None,
    root: Path | None = None,
) -> DeviceSource:
    """``fake`` → a neutral :class:`FakeDeviceSource`; ``auto`` → the real machine where uidt can read it.

    ``root`` (default ``/``, or ``UIDT_DEVICE_ROOT``) is where ``/sys`` and ``/proc`` are read:
    tests point it at a fixture tree; with a root other than ``/`` D-Bus is not used.
    """
    if kind == "fake":
        return FakeDeviceSource()
    platform = platform if platform is not None else sys.platform
    if platform.startswith("linux"):
        if root is None or root == Path("/"):
            return LinuxDeviceSource(data_dir)
        return LinuxDeviceSource(data_dir, root=root, use_dbus=False)
    return NeutralDeviceSource(platform)
