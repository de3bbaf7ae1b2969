from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from uidt.device.linux import LinuxDeviceSource
from uidt.device.netlink import COALESCE_S
from uidt.device.state import DeviceState, MemoryPressure

from .routesocket import ScriptedRouteSocket
from .ticks import Ticks
from .tree import route_line, set_psi, set_routes

MIB = 1024 * 1024


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


class CountingSource(LinuxDeviceSource):
    """Counts the kernel network readings."""

    readings = 0

    def poll_network(self) -> None:
        self.readings += 1
        super().poll_network()


@pytest.fixture
def route_socket() -> Iterator[ScriptedRouteSocket]:
    scripted = ScriptedRouteSocket()
    yield scripted
    scripted.close()


def _netlink_source(
    root: Path, tmp_path: Path, ticks: Ticks, sock: ScriptedRouteSocket
) -> CountingSource:
    return CountingSource(
        tmp_path,
        root=root,
        use_dbus=False,
        disk_usage=_usage,
        sensors_battery=lambda: None,
        sensors_temperatures=dict,
        sleep=ticks,
        poll_network_s=3600.0,
        poll_other_s=7200.0,
        watch_netlink=True,
        open_netlink=lambda: sock,
    )


async def test_a_burst_of_notifications_is_one_reading_after_the_coalescing_delay(
    root: Path, tmp_path: Path, route_socket: ScriptedRouteSocket
) -> None:
    """With an hour between polls only the kernel's notification can explain the reading; the
    messages that keep coming while it waits for the burst to end cost nothing more."""
    ticks = Ticks()
    source = _netlink_source(root, tmp_path, ticks, route_socket)
    source.readings = 0
    task = asyncio.create_task(source.run())
    try:
        await asyncio.wait_for(ticks.called(3600.0), 10)
        set_routes(root)  # the default route is gone
        route_socket.send(*[b"link"] * 100)
        await asyncio.wait_for(ticks.called(COALESCE_S), 10)
        route_socket.send(*[b"addr"] * 300)  # the rest of the burst
        await asyncio.wait_for(route_socket.drained.wait(), 10)
        assert source.readings == 0  # not before the delay
        ticks.release(COALESCE_S)
        await asyncio.wait_for(ticks.called(3600.0, times=2), 10)
        assert source.readings == 1
        assert source.snapshot().network is None
        assert ticks.calls.count(COALESCE_S) == 1
        assert "changes: netlink at once, polled every 3600 s" in source.describe()["network"]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert route_socket.closed


async def test_without_netlink_the_poll_goes_on_and_the_log_says_so_once(
    root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse() -> ScriptedRouteSocket:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    ticks = Ticks()
    source = _source(
        root, tmp_path, sleep=ticks, watch_netlink=True, open_netlink=refuse, poll_network_s=1.0
    )
    changed = asyncio.Event()
    source.add_listener(lambda _state: changed.set())
    with caplog.at_level(logging.WARNING, logger="uidt.device.linux"):
        task = asyncio.create_task(source.run())
        try:
            await asyncio.wait_for(ticks.called(1.0), 10)
            set_routes(root)
            ticks.release(1.0)
            await asyncio.wait_for(changed.wait(), 10)
            assert source.snapshot().network is None
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    warnings = [r.getMessage() for r in caplog.records if "notifications" in r.getMessage()]
    assert warnings == [
        "Cannot follow the kernel's network notifications ([Errno 1] Operation not permitted);"
        " the network is polled every 1 s only"
    ]
    assert "no netlink (Operation not permitted), polled every 1 s" in source.describe()["network"]


async def test_a_netlink_socket_that_breaks_leaves_the_poll(
    root: Path, tmp_path: Path, route_socket: ScriptedRouteSocket
) -> None:
    """The socket fails for good: one reading, then the hourly poll alone; no spinning."""
    ticks = Ticks()
    source = _netlink_source(root, tmp_path, ticks, route_socket)
    source.readings = 0
    task = asyncio.create_task(source.run())
    try:
        await asyncio.wait_for(ticks.called(3600.0), 10)
        route_socket.fail_forever(OSError(errno.EIO, "Input/output error"))
        await asyncio.wait_for(ticks.called(COALESCE_S), 10)
        ticks.release(COALESCE_S)
        await asyncio.wait_for(ticks.called(3600.0, times=2), 10)
        assert (source.readings, route_socket.recv_calls) == (1, 1)
        assert "netlink stopped, polled every 3600 s" in source.describe()["network"]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_a_fixture_tree_is_not_followed_by_netlink(root: Path, tmp_path: Path) -> None:
    """Notifications about this machine say nothing about a fixture tree's files."""
    assert "netlink off" in _source(root, tmp_path).describe()["network"]
