"""The global bandwidth_limit: divided among the running transfers, a timetable on a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from uidt.daemon.bandwidth_limit import BandwidthLimiter, divide, follow_timetable
from uidt.daemon.builtin import install_builtin_apps
from uidt.daemon.runtime import Runtime
from uidt.device.fake import FakeDeviceSource
from uidt.errors import SettingsError
from uidt.server import JobSchedulerService
from uidt.server import events as ev
from uidt.settings import Settings
from uidt.store.memory import MemoryJobStore
from uidt.testing.clock import FakeClock
from uidt.transfers.jobs import download_job
from uidt.transfers.names import TRANSFERS_APP

K = 1024
M = 1024 * 1024


@dataclass
class _Key:
    app: str


@dataclass
class _Job:
    extras: dict[str, Any]


@dataclass
class _Status:
    key: _Key
    job: _Job


@dataclass
class _Run:
    """The members of a core run context the limiter reads."""

    run_id: int
    status: _Status


def run(run_id: int, app: str = TRANSFERS_APP, **extras: Any) -> _Run:
    return _Run(run_id, _Status(_Key(app), _Job(extras)))


@dataclass
class Daemon:
    clock: FakeClock = field(
        default_factory=lambda: FakeClock(utc=datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    )
    runs: list[_Run] = field(default_factory=list)
    sent: list[tuple[int, int | None]] = field(default_factory=list)

    def limiter(self, setting: str | None) -> BandwidthLimiter:
        return BandwidthLimiter(
            setting,
            clock=self.clock,
            running=lambda: self.runs,  # type: ignore[arg-type,return-value]
            send=lambda r, share: self.sent.append((r, share)),
            to_local=lambda when: when.replace(tzinfo=None),  # the timetable in UTC here
        )


def test_divide_is_even_without_own_limits() -> None:
    assert divide(None, {1: None, 2: 100}) == {1: None, 2: None}
    assert divide(3 * M, {1: None, 2: None, 3: None}) == {1: M, 2: M, 3: M}
    assert divide(10, {}) == {}


def test_divide_gives_a_tighter_own_limit_its_own_and_the_rest_to_the_others() -> None:
    assert divide(3 * M, {1: 512 * K, 2: None, 3: None}) == {1: 512 * K, 2: 1280 * K, 3: 1280 * K}
    # an own limit above the even share gets the even share
    assert divide(2 * M, {1: 5 * M, 2: None}) == {1: M, 2: M}
    # never 0: every run moves at least a byte a second
    assert divide(1, {1: None, 2: None}) == {1: 1, 2: 1}


def test_shares_follow_runs_starting_and_ending_and_only_changes_are_sent() -> None:
    daemon = Daemon()
    limiter = daemon.limiter("2M")
    daemon.runs = [run(1)]
    limiter.refresh()
    assert daemon.sent == [(1, 2 * M)]
    limiter.refresh()
    assert daemon.sent == [(1, 2 * M)]  # nothing changed: nothing sent
    daemon.runs = [run(1), run(2), run(3, app="org.example.other")]
    limiter.refresh()
    assert daemon.sent[1:] == [(1, M), (2, M)]  # another app's job takes no share
    daemon.runs = [run(2)]
    limiter.refresh()
    assert daemon.sent[3:] == [(2, 2 * M)]
    assert limiter.shares() == {2: 2 * M}


def test_a_run_with_its_own_limit_leaves_the_rest_to_the_others() -> None:
    daemon = Daemon()
    limiter = daemon.limiter("2M")
    daemon.runs = [run(1, limit_rate=256 * K), run(2), run(3, limit_rate=True)]
    limiter.refresh()
    assert dict(daemon.sent) == {1: 256 * K, 2: 896 * K, 3: 896 * K}


def test_without_a_limit_nothing_is_sent() -> None:
    daemon = Daemon()
    limiter = daemon.limiter(None)
    daemon.runs = [run(1), run(2)]
    limiter.refresh()
    assert daemon.sent == []
    assert limiter.describe() == "off; shared by 2 transfers"


def test_the_timetable_turns_pages_on_the_daemons_clock() -> None:
    daemon = Daemon()  # Monday 07:00
    limiter = daemon.limiter("08:00,2M 19:00,off")
    daemon.runs = [run(1)]
    limiter.refresh()
    assert daemon.sent == []
    assert limiter.seconds_to_next_change() == 3600
    daemon.clock.advance(3_600_000)  # 08:00
    limiter.refresh()
    assert daemon.sent == [(1, 2 * M)]
    assert limiter.describe() == (
        '2M now (timetable "08:00,2M 19:00,off"), next change at 19:00; shared by 1 transfer'
    )
    daemon.clock.advance(11 * 3_600_000)  # 19:00
    limiter.refresh()
    assert daemon.sent[1:] == [(1, None)]
    assert limiter.to_dict()["next_change"] == "2026-12-01T08:00:00"


def test_a_change_while_running_applies_at_once_and_reset_goes_back_to_the_setting() -> None:
    daemon = Daemon()
    limiter = daemon.limiter("4M")
    daemon.runs = [run(1), run(2)]
    limiter.refresh()
    limiter.change("1M")
    assert daemon.sent[2:] == [(1, 512 * K), (2, 512 * K)]
    assert limiter.changed.is_set()
    assert limiter.to_dict()["source"] == "changed"
    assert limiter.describe() == "1M; set while running (setting: 4M); shared by 2 transfers"
    limiter.change("off")
    assert daemon.sent[4:] == [(1, None), (2, None)]
    limiter.reset()
    assert daemon.sent[6:] == [(1, 2 * M), (2, 2 * M)]
    assert limiter.to_dict()["source"] == "setting"


def test_a_bad_change_changes_nothing() -> None:
    daemon = Daemon()
    limiter = daemon.limiter("4M")
    with pytest.raises(SettingsError, match=r"bandwidth-limit: line 1, entry 2 \('19:00,fast'\)"):
        limiter.change("08:00,1M 19:00,fast")
    assert limiter.current() == 4 * M
    assert limiter.override is None


async def test_follow_timetable_refreshes_when_the_limit_changes() -> None:
    """The follower wakes on a change (the page turns are the fake clock's, tested above)."""
    daemon = Daemon()
    limiter = daemon.limiter(None)
    calls: list[int] = []
    refresh = limiter.refresh
    limiter.refresh = lambda: (calls.append(1), refresh())[1]  # type: ignore[method-assign]
    follower = asyncio.create_task(follow_timetable(limiter))
    await asyncio.sleep(0)
    limiter.change("1M")  # refreshes once itself, then wakes the follower
    for _ in range(100):
        if len(calls) >= 2:
            break
        await asyncio.sleep(0.01)
    follower.cancel()
    assert len(calls) >= 2


class _OrderHost:
    """Records the order of what the runtime asks of the app host."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def bind(self, manifest: Any) -> None:
        self.calls.append(("bind", manifest.package))

    async def start_job(self, app: str, run_id: int, service: str, params: Any) -> None:
        self.calls.append(("start", run_id))

    async def bandwidth_limit(self, app: str, run_id: int, rate: int | None) -> None:
        self.calls.append(("limit", run_id, rate))


async def _until(done: Callable[[], bool]) -> None:
    for _ in range(1000):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError("the host was never asked")


async def test_a_runs_share_is_sent_before_its_start_and_shrinks_as_others_start() -> None:
    """The worker never runs a transfer unlimited while waiting for its share: the share goes
    out before ``start`` (also when the app's worker is bound already)."""
    clock = FakeClock()
    device = FakeDeviceSource()
    service = JobSchedulerService(
        clock=clock,
        settings=Settings(bandwidth_limit="1M"),
        device=device.snapshot(),
        installed_memory_bytes=8 << 30,
    )
    host = _OrderHost()
    runtime = Runtime(
        service=service, store=MemoryJobStore(), host=host, device=device, clock=clock
    )
    runtime.load()
    install_builtin_apps(runtime)
    first = download_job("http://127.0.0.1:9/a", Path("/tmp/a-never-written"))
    runtime.schedule(TRANSFERS_APP, None, first, None, peer_pid=None, interaction_grant=True)
    await _until(lambda: ("bind", TRANSFERS_APP) in host.calls)
    runtime.on_host_event(ev.Bound(TRANSFERS_APP))
    await _until(lambda: any(c[0] == "start" for c in host.calls))
    run_a = next(c[1] for c in host.calls if c[0] == "start")
    runtime.on_host_event(ev.StartResult(TRANSFERS_APP, run_a, True))
    second = download_job("http://127.0.0.1:9/b", Path("/tmp/b-never-written"))
    runtime.schedule(TRANSFERS_APP, None, second, None, peer_pid=None, interaction_grant=True)
    await _until(lambda: len([c for c in host.calls if c[0] == "start"]) == 2)
    run_b = [c[1] for c in host.calls if c[0] == "start"][1]
    order = [c for c in host.calls if c[0] != "bind"]
    assert order.index(("limit", run_a, M)) < order.index(("start", run_a))
    assert order.index(("limit", run_b, M // 2)) < order.index(("start", run_b))
    assert ("limit", run_a, M // 2) in order
