"""The ranges of a segmented download and their checkpoint form (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from uidt.transfers.segments import (
    MAX_SPLIT,
    Segment,
    load_segments,
    plan_segments,
    present,
    segments_state,
    split_count,
)

MiB = 1024 * 1024


@pytest.mark.parametrize(
    ("total", "split", "least", "count"),
    [
        (100 * MiB, 1, 20 * MiB, 1),  # --split 1: one connection, whatever the size
        (39 * MiB, 4, 20 * MiB, 1),  # under twice the least range: not split (aria2's rule)
        (40 * MiB, 4, 20 * MiB, 2),  # two ranges of 20 MiB
        (100 * MiB, 4, 20 * MiB, 4),
        (100 * MiB, 8, 20 * MiB, 5),  # no range under 20 MiB
        (10_000 * MiB, 64, 1 * MiB, MAX_SPLIT),
        (100 * MiB, 4, 0, 1),  # a nonsense least size: one connection
    ],
)
def test_split_count_follows_aria2(total: int, split: int, least: int, count: int) -> None:
    assert split_count(total, split, least) == count


def test_plan_covers_the_file_in_near_equal_ranges() -> None:
    segments = plan_segments(1001, 4)
    assert [(s.start, s.end, s.done) for s in segments] == [
        (0, 250, 0),
        (250, 500, 250),
        (500, 750, 500),
        (750, 1001, 750),
    ]
    assert present(segments) == 0


def test_state_round_trips() -> None:
    segments = [Segment(0, 10, 4), Segment(10, 20, 20)]
    state = {"total": 20, "segments": segments_state(segments)}
    loaded = load_segments(state, 20)
    assert loaded == segments
    assert present(segments) == 14
    assert [s.complete for s in segments] == [False, True]


@pytest.mark.parametrize(
    ("state", "size"),
    [
        ({"total": 20, "segments": [[0, 4, 10], [10, 10, 20]]}, 19),  # part file of other size
        ({"total": "20", "segments": [[0, 4, 20]]}, 20),
        ({"total": True, "segments": [[0, 1, 1]]}, 1),
        ({"total": 20, "segments": []}, 20),
        ({"total": 20, "segments": "0-20"}, 20),
        ({"total": 20, "segments": [[0, 4, 10], [11, 11, 20]]}, 20),  # a gap
        ({"total": 20, "segments": [[0, 4, 12], [10, 10, 20]]}, 20),  # an overlap
        ({"total": 20, "segments": [[0, 11, 10], [10, 10, 20]]}, 20),  # done past the end
        ({"total": 20, "segments": [[0, 4, 10], [10, 9, 20]]}, 20),  # done before the start
        ({"total": 20, "segments": [[0, 4, 10]]}, 20),  # short of the total
        ({"total": 20, "segments": [[0, 4, 10], [10, 10, 20, 1]]}, 20),
        ({"total": 20, "segments": [[0, 4, 10], [10, True, 20]]}, 20),
        ({"total": 20, "segments": [[0, 0, 0], [0, 4, 20]]}, 20),  # an empty range
    ],
)
def test_unsound_states_are_refused(state: dict[str, Any], size: int) -> None:
    assert load_segments(state, size) is None
