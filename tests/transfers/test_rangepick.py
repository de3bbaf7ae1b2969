"""Which range a free connection takes (pure: made-up ranges and rates)."""

from __future__ import annotations

from uidt.transfers.rangepick import WAIT, next_range
from uidt.transfers.segments import Segment, segments_state

KiB = 1024


def test_the_first_range_nobody_fetches_comes_first() -> None:
    segments = [Segment(0, 100, 100), Segment(100, 200, 150), Segment(200, 300, 200)]
    busy = [(segments[1], 10.0)]
    assert next_range(segments, busy, least=10) is segments[2]


def test_the_slowest_busy_range_is_cut_and_the_far_half_taken() -> None:
    segments = [Segment(0, 400 * KiB, 100 * KiB), Segment(400 * KiB, 800 * KiB, 700 * KiB)]
    busy = [(segments[0], 100.0 * KiB), (segments[1], 100.0 * KiB)]  # 3 s and 1 s to go
    taken = next_range(segments, busy, least=32 * KiB)
    assert taken is segments[1]
    assert segments_state(segments) == [
        [0, 100 * KiB, 250 * KiB],
        [250 * KiB, 250 * KiB, 400 * KiB],
        [400 * KiB, 700 * KiB, 800 * KiB],
    ]


def test_a_range_about_to_end_is_left_to_finish() -> None:
    segments = [Segment(0, 400 * KiB, 300 * KiB)]
    assert next_range(segments, [(segments[0], 200.0 * KiB)], least=32 * KiB) is None
    assert len(segments) == 1


def test_a_stalled_range_is_cut() -> None:
    segments = [Segment(0, 400 * KiB, 0)]
    taken = next_range(segments, [(segments[0], 0.0)], least=32 * KiB)
    assert isinstance(taken, Segment)
    assert taken.start == 200 * KiB


def test_a_range_under_two_least_ranges_is_never_cut() -> None:
    segments = [Segment(0, 100 * KiB, 0)]
    assert next_range(segments, [(segments[0], 1.0)], least=64 * KiB) is None


def test_an_unmeasured_rate_means_look_again() -> None:
    segments = [Segment(0, 400 * KiB, 0)]
    assert next_range(segments, [(segments[0], None)], least=32 * KiB) is WAIT


def test_growing_cuts_the_range_with_most_left_whatever_its_rate() -> None:
    segments = [Segment(0, 100 * KiB, 0), Segment(100 * KiB, 500 * KiB, 100 * KiB)]
    busy = [(segments[0], 1.0), (segments[1], None)]
    taken = next_range(segments, busy, least=32 * KiB, grow=True)
    assert isinstance(taken, Segment)
    assert (taken.start, taken.end) == (300 * KiB, 500 * KiB)


def test_a_cut_falls_past_the_read_in_flight() -> None:
    """The busy connection has asked for bytes up to 300 KiB already: the cut halves what
    lies past them, never the bytes that read brings."""
    segments = [Segment(0, 500 * KiB, 100 * KiB)]
    reading = {id(segments[0]): 300 * KiB}
    taken = next_range(segments, [(segments[0], None)], least=32 * KiB, grow=True, reading=reading)
    assert isinstance(taken, Segment)
    assert (taken.start, taken.end) == (400 * KiB, 500 * KiB)
    assert segments[0].end == 400 * KiB


def test_no_cut_when_the_read_in_flight_leaves_too_little() -> None:
    segments = [Segment(0, 500 * KiB, 100 * KiB)]
    reading = {id(segments[0]): 450 * KiB}
    busy = [(segments[0], None)]
    assert next_range(segments, busy, least=32 * KiB, grow=True, reading=reading) is None
    assert segments[0].end == 500 * KiB
