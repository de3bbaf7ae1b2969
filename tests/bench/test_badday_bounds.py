"""The clean bound: what no client can get past, and only that."""

from __future__ import annotations

import pytest
from bench.badday.bounds import clean_bound_s
from bench.badday.trace import Event, Kind, MiB, Trace, lower_bound_s, make_trace

#: 100 MB at 80 Mbit/s: 10 s on a clean link.
SIZE = 100_000_000


def trace(*events: Event) -> Trace:
    return Trace(seed=0, size=SIZE, base_mbit=80.0, events=events)


def test_a_clean_link_is_the_transfer_time() -> None:
    assert clean_bound_s(trace()) == 10.0


@pytest.mark.parametrize("kind", [Kind.LINK_DOWN, Kind.STALL])
def test_no_byte_flows_while_the_link_is_down_or_the_proxy_stalls(kind: Kind) -> None:
    assert clean_bound_s(trace(Event(at=2.0, kind=kind, duration=5.0))) == 15.0


def test_the_shaped_rate_counts() -> None:
    assert clean_bound_s(trace(Event(at=5.0, kind=Kind.RATE, value=40.0))) == 15.0


@pytest.mark.parametrize("kind", [Kind.HTTP_503, Kind.HTTP_429])
def test_a_burst_costs_nothing_to_a_request_that_stays_open(kind: Kind) -> None:
    assert clean_bound_s(trace(Event(at=2.0, kind=kind, duration=5.0))) == 10.0


@pytest.mark.parametrize("kind", [Kind.RESET, Kind.KILL_WORKER, Kind.REBOOT])
def test_a_request_ended_inside_a_burst_waits_for_its_end(kind: Kind) -> None:
    burst = Event(at=2.0, kind=Kind.HTTP_503, duration=5.0)
    assert clean_bound_s(trace(burst, Event(at=3.0, kind=kind))) == 14.0


def test_a_request_ended_outside_a_burst_costs_nothing() -> None:
    # Requests are free and instant in the bound; a truncation and a daemon kill cost nothing.
    events = (
        Event(at=1.0, kind=Kind.RESET),
        Event(at=2.0, kind=Kind.TRUNCATE, value=0.5),
        Event(at=3.0, kind=Kind.KILL_DAEMON),
    )
    assert clean_bound_s(trace(*events)) == 10.0


def test_a_change_with_no_new_request_after_it_lets_the_old_version_finish() -> None:
    assert clean_bound_s(trace(Event(at=4.0, kind=Kind.ETAG))) == 10.0


def test_a_change_followed_by_a_reset_means_the_whole_new_file_after_the_change() -> None:
    events = (Event(at=4.0, kind=Kind.ETAG), Event(at=9.0, kind=Kind.RESET))
    assert clean_bound_s(trace(*events)) == 14.0


def test_the_new_file_can_only_be_asked_for_outside_a_burst() -> None:
    events = (
        Event(at=4.0, kind=Kind.ETAG),
        Event(at=4.0, kind=Kind.HTTP_429, duration=2.0),
        Event(at=9.0, kind=Kind.RESET),
    )
    assert clean_bound_s(trace(*events)) == 16.0


def test_a_change_after_the_end_changes_nothing() -> None:
    events = (Event(at=12.0, kind=Kind.ETAG), Event(at=13.0, kind=Kind.RESET))
    assert clean_bound_s(trace(*events)) == 10.0


def test_a_job_that_requires_unmetered_cannot_use_the_metered_window() -> None:
    metered = trace(Event(at=2.0, kind=Kind.METERED, duration=30.0))
    assert clean_bound_s(metered) == 10.0
    assert clean_bound_s(metered, frozenset({Kind.METERED})) == 40.0


def test_the_clean_bound_is_never_below_the_link_up_bound() -> None:
    # (the link-up bound counts in steps of 0.01 s, rounded up)
    for seed in range(1, 21):
        t = make_trace(seed, 64 * MiB, 80.0)
        clean = clean_bound_s(t)
        assert clean >= lower_bound_s(t) - 0.02, seed
        unmetered = clean_bound_s(t, frozenset({Kind.METERED}))
        both = frozenset({Kind.LINK_DOWN, Kind.METERED})
        assert unmetered >= max(clean, lower_bound_s(t, both) - 0.02), seed
