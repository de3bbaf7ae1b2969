"""The bad day's trace: the same seed gives the same faults; the lower bound's arithmetic."""

from __future__ import annotations

import itertools

from bench.badday.trace import (
    LASTING,
    ONCE,
    Event,
    Kind,
    MiB,
    Trace,
    lower_bound_s,
    make_trace,
    rate_at,
    transfer_s,
)


def test_the_same_seed_gives_the_same_trace() -> None:
    assert make_trace(7, 64 * MiB, 80.0) == make_trace(7, 64 * MiB, 80.0)


def test_other_seeds_give_other_traces() -> None:
    traces = {make_trace(seed, 64 * MiB, 80.0).events for seed in range(1, 21)}
    assert len(traces) == 20


def test_every_trace_has_each_fault_of_the_issue_once_at_least() -> None:
    for seed in range(1, 21):
        kinds = [e.kind for e in make_trace(seed, 64 * MiB, 80.0).events]
        for kind in ONCE:
            assert kind in kinds, (seed, kind)


def test_events_are_in_order_and_lasting_faults_never_overlap() -> None:
    for seed in range(1, 21):
        events = make_trace(seed, 64 * MiB, 80.0).events
        assert [e.at for e in events] == sorted(e.at for e in events)
        lasting = [e for e in events if e.kind in LASTING]
        for first, second in itertools.pairwise(lasting):
            assert first.end <= second.at


def test_durations_are_the_issues() -> None:
    for seed in range(1, 21):
        for event in make_trace(seed, 64 * MiB, 80.0).events:
            if event.kind is Kind.LINK_DOWN:
                assert 2.0 <= event.duration <= 20.0
            if event.kind is Kind.METERED:
                assert event.duration == 30.0


def test_a_trace_survives_its_json() -> None:
    trace = make_trace(3, 64 * MiB, 80.0)
    assert Trace.from_json(trace.to_json()) == trace


def test_the_lower_bound_of_a_clean_link_is_the_transfer_time() -> None:
    trace = Trace(seed=0, size=10 * MiB, base_mbit=80.0)
    assert abs(lower_bound_s(trace) - transfer_s(10 * MiB, 80.0)) < 0.02


def test_the_lower_bound_adds_the_down_time_and_follows_the_rate() -> None:
    size = 10_000_000  # 1 s at 80 Mbit/s
    down = Trace(0, size, 80.0, (Event(at=0.5, kind=Kind.LINK_DOWN, duration=3.0),))
    assert abs(lower_bound_s(down) - 4.0) < 0.02
    halved = Trace(0, size, 80.0, (Event(at=0.5, kind=Kind.RATE, value=40.0),))
    assert rate_at(halved, 0.4) == 80.0
    assert rate_at(halved, 0.6) == 40.0
    assert abs(lower_bound_s(halved) - 1.5) < 0.02


def test_metered_time_counts_only_for_a_job_that_requires_unmetered() -> None:
    size = 10_000_000
    trace = Trace(0, size, 80.0, (Event(at=0.5, kind=Kind.METERED, duration=30.0),))
    assert abs(lower_bound_s(trace) - 1.0) < 0.02
    unmetered = lower_bound_s(trace, frozenset({Kind.LINK_DOWN, Kind.METERED}))
    assert abs(unmetered - 31.0) < 0.02
