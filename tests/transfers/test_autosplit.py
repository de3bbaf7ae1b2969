"""``--split auto``'s decisions on made-up rates (no I/O, no real time)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from uidt.transfers.autosplit import (
    AutoSplit,
    Phase,
    SplitGovernor,
    Verdict,
    resplit_point,
)

MiB = 1024 * 1024
TB = 10**12  # a file that never ends within these tests
SETTINGS = AutoSplit(probe_ms=1000, probe_bytes=4 * MiB, settle_ms=300, trial_ms=1000)


def drive(
    governor: SplitGovernor, rate_of: Callable[[int], float], *, until_ms: int = 60_000
) -> list[tuple[int, Verdict]]:
    """Readings every 100 ms of a link whose total rate with n connections is rate_of(n)."""
    verdicts: list[tuple[int, Verdict]] = []
    done = 0.0
    for now in range(0, until_ms, 100):
        verdict = governor.observe(now, int(done))
        if verdict is not Verdict.WAIT:
            verdicts.append((now, verdict))
        done += rate_of(governor.connections) / 10
    return verdicts


def test_a_per_connection_limit_doubles_up_to_the_most_connections() -> None:
    governor = SplitGovernor(SETTINGS, total=TB, max_connections=8)
    steps: list[int] = []
    done = 0.0
    for now in range(0, 60_000, 100):
        if governor.observe(now, int(done)) is Verdict.ADD:
            steps.append(governor.step)
        done += governor.connections * 4 * MiB / 10  # 4 MiB/s per connection
    assert steps == [1, 2, 4]
    assert governor.connections == 8
    assert governor.settled
    assert [round(r / MiB) for r in governor.rates] == [4, 8, 16, 32]


def test_the_last_doubling_stops_at_the_limit() -> None:
    governor = SplitGovernor(SETTINGS, total=TB, max_connections=3)
    verdicts = drive(governor, lambda n: n * 4 * MiB)
    assert [v for _, v in verdicts] == [Verdict.ADD, Verdict.ADD]
    assert governor.step == 1  # 2 -> 3, not 4
    assert governor.connections == 3


def test_loopback_gets_a_trial_and_gives_it_back() -> None:
    """The second connection makes the total slower (two cores, one disk): closed."""
    governor = SplitGovernor(SETTINGS, total=TB, max_connections=8)
    verdicts = drive(governor, lambda n: 1000 * MiB if n == 1 else 700 * MiB)
    assert [v for _, v in verdicts] == [Verdict.ADD, Verdict.DROP]
    assert governor.connections == 1
    assert governor.phase is Phase.SETTLED


def test_a_link_limit_gives_the_trial_back() -> None:
    """The path, not the connections, is the limit: the same rate with two."""
    governor = SplitGovernor(SETTINGS, total=TB, max_connections=8)
    verdicts = drive(governor, lambda _n: 10 * MiB)
    assert [v for _, v in verdicts] == [Verdict.ADD, Verdict.DROP]
    assert governor.connections == 1


def test_growth_stops_where_the_added_connections_stop_helping() -> None:
    """Three connections fill the link: four still measure 1.5x two and are kept; eight are
    no faster than four, so the four added last are handed back."""
    governor = SplitGovernor(SETTINGS, total=TB, max_connections=8)
    verdicts = drive(governor, lambda n: min(n, 3) * 5 * MiB)
    assert [v for _, v in verdicts] == [Verdict.ADD, Verdict.ADD, Verdict.ADD, Verdict.DROP]
    assert governor.step == 4
    assert governor.connections == 4


@pytest.mark.parametrize(("ratio", "kept"), [(1.29, 1), (1.31, 2)])
def test_the_first_added_connection_must_bring_thirty_percent(ratio: float, kept: int) -> None:
    governor = SplitGovernor(SETTINGS, total=TB, max_connections=2)
    drive(governor, lambda n: 10 * MiB * (ratio if n == 2 else 1.0))
    assert governor.connections == kept


def test_the_probe_needs_both_its_time_and_its_bytes() -> None:
    """A slow link (1 MiB/s): no decision before 4 MiB have come, even after a second."""
    governor = SplitGovernor(SETTINGS, total=TB, max_connections=4)
    verdicts = drive(governor, lambda n: n * 1 * MiB)
    assert verdicts[0] == (4000, Verdict.ADD)


def test_the_settle_time_is_not_measured() -> None:
    """A connection that needs 300 ms for its first byte is not judged on them."""
    governor = SplitGovernor(SETTINGS, total=TB, max_connections=2)
    added: list[int] = []
    done = 0.0
    for now in range(0, 10_000, 100):
        if governor.observe(now, int(done)) is Verdict.ADD:
            added.append(now)
        late = governor.connections == 2 and now - added[0] < 300
        done += (10 if governor.connections == 1 or late else 20) * MiB / 10
    assert governor.connections == 2
    assert governor.rates[1] == pytest.approx(20 * MiB, rel=0.01)


def test_a_file_that_allows_one_range_never_probes() -> None:
    governor = SplitGovernor(SETTINGS, total=TB, max_connections=1)
    assert governor.settled
    assert drive(governor, lambda n: n * MiB) == []


def test_no_range_to_split_ends_the_growth() -> None:
    governor = SplitGovernor(SETTINGS, total=TB, max_connections=8)
    verdicts = drive(governor, lambda n: n * 4 * MiB, until_ms=1200)
    assert [v for _, v in verdicts] == [Verdict.ADD]
    governor.opened(0)
    assert governor.connections == 1
    assert governor.settled
    assert governor.observe(99_000, 10**12) is Verdict.WAIT


def test_fewer_opened_than_asked_are_judged_as_opened() -> None:
    """Asked to double from 2 to 4, the caller could open one more: 3 are measured."""
    governor = SplitGovernor(SETTINGS, total=TB, max_connections=8)
    verdicts = drive(governor, lambda n: n * 4 * MiB, until_ms=2500)
    assert [v for _, v in verdicts] == [Verdict.ADD, Verdict.ADD]
    governor.opened(1)
    assert governor.connections == 3
    assert not governor.settled


@pytest.mark.parametrize(("size_mib", "verdicts"), [(10, []), (45, []), (60, [Verdict.ADD])])
def test_a_trial_only_when_the_rest_takes_long_enough_to_win_it_back(
    size_mib: int, verdicts: list[Verdict]
) -> None:
    """10 MiB/s: after the 1 s probe 0, 35 or 50 MiB are left: 0, 3.5 or 5 s against 4 s."""
    governor = SplitGovernor(SETTINGS, total=size_mib * MiB, max_connections=8)
    seen = drive(governor, lambda n: 10 * MiB, until_ms=1200)
    assert [v for _, v in seen] == verdicts
    assert governor.settled is (not verdicts)


@pytest.mark.parametrize(
    ("done", "end", "least", "cut"),
    [
        (0, 100, 20, 50),
        (60, 100, 20, 80),  # exactly two least ranges left
        (61, 100, 20, None),  # one half would be under the least range
        (0, 100, 0, None),
    ],
)
def test_resplit_point(done: int, end: int, least: int, cut: int | None) -> None:
    assert resplit_point(done, end, least) == cut


def test_a_stop_during_a_trial_keeps_the_connections_that_helped() -> None:
    """The server answered the trial's range whole: its connection is gone, nothing more is
    tried, and the count is the one measured before."""
    governor = SplitGovernor(SETTINGS, total=TB, max_connections=8)
    verdicts = drive(governor, lambda n: n * 4 * MiB, until_ms=1200)
    assert [v for _, v in verdicts] == [Verdict.ADD]
    governor.stop()
    assert governor.settled
    assert governor.connections == 1
    assert governor.observe(99_000, 10**12) is Verdict.WAIT
