from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from uidt.device.linux import LinuxDeviceSource
from uidt.device.state import DeviceState, MemoryPressure

from .tree import route_line, set_psi, set_routes

MIB = 1024 * 1024


class Ticks:
    """An injected sleep: each call waits until the test releases one tick."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.two_waiting = asyncio.Event()
        self.released: dict[float, asyncio.Queue[None]] = {}

    def _queue(self, seconds: float) -> asyncio.Queue[None]:
        return self.released.setdefault(seconds, asyncio.Queue())

    def release(self, seconds: float) -> None:
        """Let one sleep of ``seconds`` end."""
        self._queue(seconds).put_nowait(None)

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if len(self.calls) >= 2:
            self.two_waiting.set()
        await self._queue(seconds).get()


def _usage(_path: Path) -> SimpleNamespace:
    return SimpleNamespace(total=1000 * MIB, used=0, free=900 * MIB)


def _source(root: Path, tmp_path: Path, **kwargs: Any) -> LinuxDeviceSource:
    return LinuxDeviceSource(
        tmp_path,
        root=root,
        use_dbus=False,
        disk_usage=_usage,
        sensors_battery=lambda: None,
        sensors_temperatures=dict,
        **kwargs,
    )


def test_first_snapshot_is_read_at_construction(root: Path, tmp_path: Path) -> None:
    source = _source(root, tmp_path)
    state = source.snapshot()
    assert state.network is not None
    assert state.network.name == "eth0"
    assert state.plugged
    assert state.battery_not_low
    assert not state.storage_low
    assert "no battery" in source.describe()["battery_level"]
    assert "D-Bus disabled" in source.describe()["network"]


def test_listeners_only_hear_changes(root: Path, tmp_path: Path) -> None:
    source = _source(root, tmp_path)
    heard: list[DeviceState] = []
    source.add_listener(heard.append)
    source.poll_network()
    source.poll_other()
    assert heard == []
    set_routes(root)
    source.poll_network()
    assert len(heard) == 1
    assert heard[0].network is None
    source.poll_network()
    assert len(heard) == 1


def test_bandwidth_is_kept_per_network(root: Path, tmp_path: Path) -> None:
    source = _source(root, tmp_path)
    source.record_bandwidth("wlan0", 1000, 100)
    assert source.snapshot().network.downstream_kbps == 0  # type: ignore[union-attr]
    source.record_bandwidth("eth0", 50_000, 20_000)
    network = source.snapshot().network
    assert network is not None
    assert (network.downstream_kbps, network.upstream_kbps) == (50_000, 20_000)
    assert source.describe()["bandwidth_kbps"] == "measured on eth0: 50000/20000 kbps"


def test_failing_reader_keeps_last_value_and_logs_once(
    root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    set_psi(root, 40.0, 0.0)
    source = _source(root, tmp_path)
    assert source.snapshot().memory is MemoryPressure.LOW
    (root / "proc/pressure/memory").unlink()
    (root / "proc/meminfo").unlink()
    with caplog.at_level(logging.WARNING, logger="uidt.device.linux"):
        for _ in range(3):
            source.poll_other()
    assert source.snapshot().memory is MemoryPressure.LOW
    assert len([r for r in caplog.records if "memory" in r.getMessage()]) == 1


async def test_the_daemon_polls_the_network_every_second(root: Path, tmp_path: Path) -> None:
    """The default the daemon uses: a route change is seen within a second (a metered route then
    stops an unmetered-only job at once), the bound no test on a shared machine can time."""
    ticks = Ticks()
    source = _source(root, tmp_path, sleep=ticks)
    task = asyncio.create_task(source.run())
    try:
        await asyncio.wait_for(ticks.two_waiting.wait(), 10)
        assert sorted(ticks.calls) == [1.0, 10.0]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_run_polls_with_injected_sleep(root: Path, tmp_path: Path) -> None:
    ticks = Ticks()
    source = _source(root, tmp_path, sleep=ticks, poll_network_s=1.0, poll_other_s=10.0)
    changed = asyncio.Event()
    source.add_listener(lambda _state: changed.set())
    task = asyncio.create_task(source.run())
    try:
        await asyncio.wait_for(ticks.two_waiting.wait(), 10)
        assert sorted(ticks.calls) == [1.0, 10.0]
        set_routes(root, route_line("eth0", "0000A8C0", 0, mask="00FFFFFF"))
        ticks.release(1.0)  # one network poll
        await asyncio.wait_for(changed.wait(), 10)
        assert source.snapshot().network is None
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
