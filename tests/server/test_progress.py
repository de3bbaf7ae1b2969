"""A job's bytes over time: a few samples, bounded, the newest value always kept."""

from __future__ import annotations

import itertools

from uidt.server.progress import FIRST_GAP_MS, MAX_SAMPLES, ByteSamples


def test_close_reports_slide_the_last_point_so_the_newest_value_is_kept() -> None:
    samples = ByteSamples()
    samples.add(0, 0)
    for t in range(100, FIRST_GAP_MS, 100):
        samples.add(t, t)
    assert samples.points == [(0, 0), (FIRST_GAP_MS - 100, FIRST_GAP_MS - 100)]
    samples.add(FIRST_GAP_MS + 50, 7)
    assert samples.points[-1] == (FIRST_GAP_MS + 50, 7)


def test_a_day_of_reports_every_second_keeps_its_whole_shape_in_at_most_max_points() -> None:
    samples = ByteSamples()
    day = 86_400_000
    for t in range(0, day, 1000):
        samples.add(t, t // 1000)
    assert len(samples.points) <= MAX_SAMPLES
    assert samples.points[0] == (0, 0)  # the start is kept
    assert samples.points[-1] == (day - 1000, day // 1000 - 1)  # and the newest value
    times = [t for t, _ in samples.points]
    assert times == sorted(times)
    assert max(b - a for a, b in itertools.pairwise(times)) < day / 8
