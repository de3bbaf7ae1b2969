"""The daemon's device history: changes only, bounded by age and count, kept across restarts."""

from __future__ import annotations

from pathlib import Path

from uidt.daemon.devicehistory import DeviceHistory
from uidt.device.state import DeviceState, NetworkState, ThermalStatus
from uidt.store.sqlite import SqliteJobStore
from uidt.store.writer import StoreWriter

DAY = 86_400_000


class Wall:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


def _history(path: Path, wall: Wall, *, days: int = 7, most: int = 100) -> DeviceHistory:
    history = DeviceHistory(
        StoreWriter(SqliteJobStore(path)), utc_ms=wall, days=days, max_readings=most
    )
    history.load()
    return history


def test_only_changes_of_the_kept_values_are_kept(tmp_path: Path) -> None:
    wall = Wall()
    history = _history(tmp_path / "db", wall)
    assert history.record(DeviceState(battery_level=91))
    wall.now += 1000
    # bandwidth and the battery moving inside its band of ten are no change worth a reading
    fast = NetworkState(downstream_kbps=5000)
    assert not history.record(DeviceState(network=fast, battery_level=91))
    assert not history.record(DeviceState(battery_level=95))
    assert history.record(DeviceState(network=None))
    assert [r.network for r in history.since(0)] == ["wifi", "none"]
    history._store.close()


def test_readings_survive_a_restart_and_old_days_are_pruned(tmp_path: Path) -> None:
    wall = Wall()
    history = _history(tmp_path / "db", wall, days=2)
    history.record(DeviceState())
    wall.now += DAY
    history.record(DeviceState(thermal=ThermalStatus.SEVERE))
    wall.now += DAY
    history.record(DeviceState())
    history._store.close()  # commits what is queued

    wall.now += DAY // 2
    again = _history(tmp_path / "db", wall, days=2)
    # two days and a half later: the first reading is older than the window but says what the
    # device was when it starts, so it stays until a newer one is older too
    assert [r.thermal for r in again.since(0)] == [
        ThermalStatus.NONE,
        ThermalStatus.SEVERE,
        ThermalStatus.NONE,
    ]
    wall.now += DAY
    again.record(DeviceState(network=None))
    assert [r.thermal for r in again.since(0)] == [ThermalStatus.SEVERE, ThermalStatus.NONE, 0]
    again._store.close()
    with SqliteJobStore(tmp_path / "db") as store:
        assert store.device_readings() == again.since(0)


def test_a_flapping_device_keeps_at_most_the_cap(tmp_path: Path) -> None:
    wall = Wall()
    history = _history(tmp_path / "db", wall, most=5)
    for i in range(50):
        wall.now += 10
        history.record(DeviceState(network=NetworkState(metered=i % 2 == 1)))
    assert len(history.since(0)) == 5
    history._store.close()
    with SqliteJobStore(tmp_path / "db") as store:
        assert len(store.device_readings()) == 5


def test_since_answers_the_window_with_the_reading_before_it(tmp_path: Path) -> None:
    wall = Wall()
    history = _history(tmp_path / "db", wall)
    for network in (NetworkState(), None, NetworkState(metered=True)):
        history.record(DeviceState(network=network))
        wall.now += 1000
    first = history.since(0)[0].at_utc_ms
    assert [r.network for r in history.since(first + 1500)] == ["none", "wifi"]
    history._store.close()
