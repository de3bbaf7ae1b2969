"""Which answers to a first request allow ranges (:func:`plan_from_answer`; made-up heads)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from uidt.transfers.rangeanswer import plan_from_answer
from uidt.transfers.segments import Split, segments_state

MiB = 1024 * 1024
TOTAL = 100 * MiB


@dataclass
class Head:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    reason: str | None = None

    @property
    def content_length(self) -> int | None:
        return int(self.headers["Content-Length"]) if "Content-Length" in self.headers else None


def _partial(first: int, last: int = TOTAL - 1, total: int = TOTAL) -> Head:
    return Head(
        206,
        {
            "Content-Range": f"bytes {first}-{last}/{total}",
            "Content-Length": str(last - first + 1),
            "ETag": '"v1"',
        },
    )


@pytest.mark.parametrize(("split", "count"), [(4, 4), ("auto", 1)])
def test_a_whole_file_answer_is_planned(split: Split, count: int) -> None:
    plan = plan_from_answer(_partial(0), split=split, min_split_size=20 * MiB)
    assert plan is not None
    assert len(plan) == count


def test_only_auto_may_go_on_from_a_resumed_answer_that_runs_to_the_end() -> None:
    """A resumed one-connection download may still move to ranges under ``auto``; ``--split
    N`` asks ``bytes=0-`` and takes nothing else."""
    resumed = _partial(30 * MiB)
    plan = plan_from_answer(resumed, split="auto", min_split_size=20 * MiB)
    assert plan is not None
    assert segments_state(plan) == [[0, 0, TOTAL]]
    assert plan_from_answer(resumed, split=4, min_split_size=20 * MiB) is None


@pytest.mark.parametrize(
    "head",
    [
        _partial(30 * MiB, last=TOTAL - 2),  # does not run to the end
        Head(200, {"Content-Length": str(TOTAL), "ETag": '"v1"'}),
        Head(206, {**_partial(0).headers, "ETag": 'W/"weak"'}),  # no strong validator
    ],
    ids=["short", "200", "weak-etag"],
)
def test_answers_that_cannot_take_ranges(head: Head) -> None:
    assert plan_from_answer(head, split="auto", min_split_size=20 * MiB) is None
