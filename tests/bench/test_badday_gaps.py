"""Where the time went: the gap from a fault letting go to the next byte."""

from __future__ import annotations

from bench.badday.gaps import Gap, describe, gaps, metered_s
from bench.badday.measure import Timeline
from bench.badday.trace import Event, Kind, Trace


def trace(*events: Event) -> Trace:
    return Trace(seed=0, size=100, base_mbit=80.0, events=events)


def request(t: float) -> dict[str, object]:
    return {"t": t, "event": "request"}


def test_a_link_back_waits_for_the_first_bucket_with_bytes() -> None:
    t = trace(Event(at=1.0, kind=Kind.LINK_DOWN, duration=4.0))
    timeline = Timeline(buckets=[(0.5, 10), (6.2, 10), (6.3, 10)])
    assert gaps(t, timeline, 7.0) == [Gap(Kind.LINK_DOWN, 5.0, 1.2)]


def test_a_kill_waits_for_a_new_request_not_for_bytes_still_in_flight() -> None:
    t = trace(Event(at=2.0, kind=Kind.KILL_WORKER))
    timeline = Timeline(
        buckets=[(1.9, 10), (2.0, 10), (3.4, 10)], proxy_events=[request(0.0), request(3.45)]
    )
    # The bucket of 3.4 holds the bytes of [3.4, 3.5): the new request's first bytes at 3.45.
    assert gaps(t, timeline, 9.0) == [Gap(Kind.KILL_WORKER, 2.0, 1.45)]


def test_other_faults_inside_a_gap_are_named() -> None:
    t = trace(
        Event(at=1.0, kind=Kind.LINK_DOWN, duration=2.0),
        Event(at=3.5, kind=Kind.STALL, duration=2.0),
    )
    timeline = Timeline(buckets=[(6.0, 10)])
    first = gaps(t, timeline, 7.0)[0]
    assert first == Gap(Kind.LINK_DOWN, 3.0, 3.0, (Kind.STALL,))
    assert describe(first) == "3.0 s link back: 3.0 s (also: stall)"


def test_faults_after_the_end_are_left_out_and_a_gap_with_no_bytes_says_so() -> None:
    t = trace(
        Event(at=1.0, kind=Kind.HTTP_503, duration=1.0),
        Event(at=9.0, kind=Kind.REBOOT),
    )
    assert gaps(t, Timeline(), None) == [
        Gap(Kind.HTTP_503, 2.0, None, (Kind.REBOOT,)),
        Gap(Kind.REBOOT, 9.0, None),
    ]
    assert gaps(t, Timeline(), 5.0) == [Gap(Kind.HTTP_503, 2.0, None)]


def test_the_metered_time_is_cut_at_the_end_of_the_run() -> None:
    t = trace(Event(at=10.0, kind=Kind.METERED, duration=30.0))
    assert (metered_s(t, 25.0), metered_s(t, 50.0), metered_s(t, 5.0)) == (15.0, 30.0, 0.0)
