"""The cold-start timeline's report: marks in time order, each lane's ratio to curl per round."""

from __future__ import annotations

from bench.coldstart_bench import Lane, report, timeline


def test_the_timeline_lists_the_marks_by_their_median_time_with_the_cpu_then() -> None:
    runs = [
        {"harness.spawn": (0.0, None), "daemon.serving": (0.5, 0.3), "cli.main": (0.02, 0.01)},
        {"harness.spawn": (0.0, None), "daemon.serving": (0.7, 0.4), "cli.main": (0.04, 0.02)},
    ]
    rows = timeline(runs)[2:]
    assert [row.split(" | ")[0] for row in rows] == [
        "| harness.spawn",
        "| cli.main",
        "| daemon.serving",
    ]
    assert rows[2] == "| daemon.serving | 0.600 | 0.500 | 0.700 | 0.350 |"
    assert rows[0].endswith("| - |")  # the harness's own marks carry no CPU time


def test_each_lane_is_compared_with_curl_round_by_round() -> None:
    one = Lane("this tree", "python", walls=[2.0, 4.0], runs=[{}, {}])
    other = Lane("base", "python", walls=[4.0, 4.0], runs=[{}, {}])
    text = report([one, other], curls=[2.0, 2.0], loads=[1.0, 3.0])
    assert "load average 1.00-3.00" in text
    assert (
        "this tree: median 3.000 s; speed vs curl -o 0.67x at the medians, 0.75x round by round (1.00, 0.50)"
        in text
    )
    assert "base: median 4.000 s; speed vs curl -o 0.50x" in text
