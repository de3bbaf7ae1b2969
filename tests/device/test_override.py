from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from uidt.device.fake import FakeDeviceSource
from uidt.device.linux import LinuxDeviceSource
from uidt.device.override import DeviceOverrideError, OverrideDeviceSource
from uidt.device.state import DeviceState, MemoryPressure, ThermalStatus
from uidt.errors import UidtError
from uidt.job.network import Transport


def _pair() -> tuple[FakeDeviceSource, OverrideDeviceSource, list[DeviceState]]:
    base = FakeDeviceSource()
    override = OverrideDeviceSource(base)
    heard: list[DeviceState] = []
    override.add_listener(heard.append)
    return base, override, heard


def test_set_parses_every_key() -> None:
    _, override, _ = _pair()
    state = override.set(
        network="cellular",
        metered="true",
        roaming="yes",
        validated="0",
        bandwidth_kbps="800",
        battery_level="50",
        plugged="false",
        storage_low="on",
        thermal="severe",
        memory="critical",
        power_saver="1",
    )
    assert state.network is not None
    assert state.network.transport is Transport.CELLULAR
    assert (state.network.metered, state.network.roaming, state.network.validated) == (
        True,
        True,
        False,
    )
    assert (state.network.downstream_kbps, state.network.upstream_kbps) == (800, 800)
    assert (state.battery_level, state.plugged, state.charging, state.battery_not_low) == (
        50,
        False,
        False,
        True,
    )
    assert state.storage_low
    assert state.thermal is ThermalStatus.SEVERE
    assert state.memory is MemoryPressure.CRITICAL
    assert state.power_saver
    assert override.describe()["thermal"] == "severe (override)"
    assert override.describe()["battery_not_low"] == "true (override)"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"colour": "red"}, "unknown device key 'colour'"),
        (
            {"thermal": "hot"},
            "thermal='hot': expected one of none|light|moderate|severe|critical|emergency|shutdown",
        ),
        ({"battery_level": "101"}, "battery_level='101': expected 0..100"),
        ({"metered": "maybe"}, "metered='maybe': expected true|false"),
        ({"network": "5g"}, "network='5g': expected one of none|wifi|ethernet|cellular"),
        ({"plugged": "false", "memory": "bad"}, "memory='bad'"),
    ],
)
def test_bad_values_change_nothing(values: dict[str, str], message: str) -> None:
    _, override, heard = _pair()
    with pytest.raises(DeviceOverrideError, match=message) as caught:
        override.set(**values)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, UidtError)
    assert override.snapshot() == DeviceState()
    assert override.overrides() == {}
    assert heard == []


def test_battery_level_override_uses_hysteresis() -> None:
    _, override, _ = _pair()
    override.set(plugged="false", battery_level="30")
    assert override.snapshot().battery_not_low
    override.set(battery_level="22")
    assert override.snapshot().battery_not_low
    override.set(battery_level="20")
    assert not override.snapshot().battery_not_low
    override.set(battery_level="24")
    assert not override.snapshot().battery_not_low
    override.set(battery_level="25")
    assert override.snapshot().battery_not_low


def test_listeners_hear_effective_changes_only() -> None:
    base, override, heard = _pair()
    override.set(thermal="none")  # same as the base
    assert heard == []
    override.set(network="none")
    assert len(heard) == 1
    assert heard[0].network is None
    base.set(storage_low=True)
    assert len(heard) == 2
    base.set(network=None)  # hidden by the override
    assert len(heard) == 2
    override.reset()
    assert override.snapshot() == base.snapshot()
    assert len(heard) == 2  # base already had no network and low storage... effective unchanged


def test_describe_names_sources() -> None:
    _, override, _ = _pair()
    assert override.describe()["network"] == "wifi (fake)"
    override.set(metered="true")
    assert override.describe()["metered"] == "true (override)"
    assert override.describe()["plugged"] == "true (fake)"
    override.reset()
    assert override.describe()["metered"] == "false (fake)"


def test_record_bandwidth_reaches_a_base_that_keeps_it(root: Path, tmp_path: Path) -> None:
    base = LinuxDeviceSource(
        tmp_path,
        root=root,
        use_dbus=False,
        disk_usage=lambda _p: SimpleNamespace(total=1 << 40, used=0, free=1 << 39),
        sensors_battery=lambda: None,
        sensors_temperatures=dict,
    )
    override = OverrideDeviceSource(base)
    override.set(network="wifi")
    override.record_bandwidth("eth0", 10, 5)
    network = override.snapshot().network
    assert network is not None
    assert (network.transport, network.name, network.downstream_kbps, network.upstream_kbps) == (
        Transport.WIFI,
        "eth0",
        10,
        5,
    )
    OverrideDeviceSource(FakeDeviceSource()).record_bandwidth("x", 1, 1)  # a no-op, not an error
