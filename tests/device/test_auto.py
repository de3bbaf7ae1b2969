from __future__ import annotations

from pathlib import Path

from uidt.device.auto import create_device_source
from uidt.device.fake import FakeDeviceSource
from uidt.device.linux import LinuxDeviceSource
from uidt.device.state import DeviceState


def test_create_device_source(tmp_path: Path) -> None:
    assert isinstance(create_device_source("fake", tmp_path), FakeDeviceSource)
    neutral = create_device_source("auto", tmp_path, platform="darwin")
    assert neutral.snapshot() == DeviceState()
    assert all("darwin" in text for text in neutral.describe().values())
    assert isinstance(create_device_source("auto", tmp_path, platform="linux"), LinuxDeviceSource)
