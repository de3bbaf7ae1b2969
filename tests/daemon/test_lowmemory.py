from __future__ import annotations

from uidt.daemon.lowmemory import LowMemoryKiller, tree_rss
from uidt.device.state import DeviceState, MemoryPressure
from uidt.testing import FakeClock

PIDS = {"org.a": 10, "org.b": 20, "org.c": None}
RSS = {10: 100 << 20, 20: 300 << 20}


def killer(clock: FakeClock) -> LowMemoryKiller:
    return LowMemoryKiller(
        elapsed=clock.elapsed, pid_of=PIDS.get, rss_of=RSS.__getitem__, interval_ms=5_000
    )


def test_nothing_is_killed_below_critical() -> None:
    k = killer(FakeClock())
    for level in (MemoryPressure.NORMAL, MemoryPressure.MODERATE, MemoryPressure.LOW):
        assert k.victim(DeviceState(memory=level), PIDS) is None


def test_the_largest_worker_goes_first_then_one_per_interval() -> None:
    clock = FakeClock()
    k = killer(clock)
    critical = DeviceState(memory=MemoryPressure.CRITICAL)
    assert k.victim(critical, PIDS) == "org.b"
    clock.advance(4_999)
    assert k.victim(critical, ["org.a"]) is None
    clock.advance(1)
    assert k.victim(critical, ["org.a"]) == "org.a"


def test_apps_without_a_worker_are_not_victims() -> None:
    assert (
        killer(FakeClock()).victim(DeviceState(memory=MemoryPressure.CRITICAL), ["org.c"]) is None
    )


def test_tree_rss_of_this_process_and_of_a_missing_one() -> None:
    import os

    assert tree_rss(os.getpid()) > 0
    assert tree_rss(2**22 + 7) == 0
