"""The bad day's figures: median and worst per client, and the metered windows uidt was told."""

from __future__ import annotations

from bench.badday.measure import Timeline, finish, told_windows
from bench.badday.report import (
    MiB,
    RunResult,
    bounds_markdown,
    markdown,
    per_run_markdown,
    summarize,
)
from bench.badday.trace import Event, Kind, Trace


def result(client: str, seed: int, wall: float | None, sent: int, **more: object) -> RunResult:
    fields: dict[str, object] = {
        "client": client,
        "seed": seed,
        "byte_exact": wall is not None,
        "wall_s": wall,
        "sent_bytes": sent,
        "size": 100,
        "metered_bytes": 0,
        "user_actions": 0,
        "system_restarts": 0,
        "lower_bound_s": 10.0,
        "lower_bound_unmetered_s": 40.0,
        **more,
    }
    return RunResult(**fields)  # type: ignore[arg-type]


def test_median_and_worst_per_client() -> None:
    rows = summarize(
        [
            result("curl", 1, 11.0, 100, user_actions=2),
            result("curl", 2, 30.0, 150, user_actions=0),
            result("curl", 3, 12.0, 120, user_actions=1),
        ]
    )
    (row,) = rows
    assert row.traces == 3
    assert row.byte_exact == 3
    assert row.wall_s == "12.00 / 30.00"
    assert row.sent_ratio == "1.20 / 1.50"
    assert row.user_actions == "1.00 / 2.00"


def test_uidt_is_measured_against_the_bound_without_the_metered_time() -> None:
    (uidt,) = summarize([result("uidt", 1, 44.0, 100)])
    assert uidt.wall_ratio == "1.10 / 1.10"  # 44 / 40: its job may not use the metered window
    assert uidt.wall_ratio_link == "4.40 / 4.40"
    (curl,) = summarize([result("curl", 1, 44.0, 100)])
    assert curl.wall_ratio == "4.40 / 4.40"


def test_a_run_that_never_ended_counts_as_not_byte_exact_and_has_no_time() -> None:
    (row,) = summarize([result("wget", 1, None, 50), result("wget", 2, 20.0, 100)])
    assert row.byte_exact == 1
    assert row.wall_s == "20.00 / 20.00"
    assert "| wget | 1/2 |" in markdown([result("wget", 1, None, 50), result("wget", 2, 20.0, 100)])


def test_uidt_knew_of_the_metered_network_from_being_told_until_the_end_was_being_told() -> None:
    # Told at 10.2 (the command returned); the harness began telling the end at 40.0 and its
    # command returned at 40.3: the daemon may have known the end from 40.0 on.
    assert told_windows([(10.2, True), (40.3, False)], [40.0], 40.0) == [(10.2, 40.0)]


def test_a_killed_daemon_forgets_and_its_successor_knows_once_told_again() -> None:
    told = [(10.2, True), (20.6, True), (40.3, False)]
    assert told_windows(told, [20.0, 40.0], 40.0) == [(10.2, 20.0), (20.6, 40.0)]


def test_a_run_that_ended_inside_the_window_is_cut_at_the_window_end() -> None:
    assert told_windows([(10.2, True)], [], 40.0) == [(10.2, 40.0)]
    assert told_windows([], [20.0], 40.0) == []


def test_bytes_in_windows_come_from_the_proxy_buckets() -> None:
    timeline = Timeline(buckets=[(9.9, MiB), (10.2, 2 * MiB), (39.9, MiB), (40.3, 5 * MiB)])
    assert timeline.total() == 9 * MiB
    assert timeline.within([(10.2, 40.3)]) == 3 * MiB


def test_the_clean_bound_is_a_column_of_its_own_and_uidts_leaves_out_the_metered_time() -> None:
    bounds = {"clean_bound_s": 20.0, "clean_bound_unmetered_s": 50.0}
    (uidt,) = summarize([result("uidt", 1, 55.0, 100, **bounds)])
    assert uidt.wall_ratio_clean == "1.10 / 1.10"  # 55 / 50
    assert (uidt.wall_ratio, uidt.wall_ratio_link) == ("1.38 / 1.38", "5.50 / 5.50")  # unchanged
    (curl,) = summarize([result("curl", 1, 30.0, 100, **bounds)])
    assert curl.wall_ratio_clean == "1.50 / 1.50"  # 30 / 20
    table = markdown([result("curl", 1, 30.0, 100, **bounds)])
    assert "wall ÷ own clean bound" in table
    assert "| 3.00 / 3.00 | 3.00 / 3.00 | 1.50 / 1.50 |" in table
    assert "| 20.0 |" in per_run_markdown([result("curl", 1, 30.0, 100, **bounds)])


def test_finishing_a_run_computes_its_clean_bounds_from_the_trace() -> None:
    trace = Trace(
        seed=1,
        size=10_000_000,  # 1 s at 80 Mbit/s
        base_mbit=80.0,
        events=(
            Event(at=0.5, kind=Kind.STALL, duration=2.0),
            Event(at=2.75, kind=Kind.METERED, duration=30.0),
        ),
    )
    done = finish(result("uidt", 1, 40.0, 100), Timeline(), trace)
    assert (done.clean_bound_s, done.clean_bound_unmetered_s) == (3.0, 33.0)
    assert done.own_clean_bound_s == 33.0


def test_bytes_while_uidt_knew_count_whole_buckets_only() -> None:
    # Told the end at 76.92: the bucket of 76.9 holds the bytes of a job started again at once.
    timeline = Timeline(buckets=[(47.2, MiB), (47.3, 2 * MiB), (76.8, MiB), (76.9, 5 * MiB)])
    assert timeline.wholly_within([(47.24, 76.92)], 0.1) == 2 * MiB + MiB
    assert timeline.wholly_within([(47.2, 76.9)], 0.1) == 4 * MiB


def test_the_bounds_table_says_what_a_perfect_client_reaches_against_the_link_up_bound() -> None:
    """Per trace (not per client): clean ÷ link-up, for any client and for one that must not
    use the metered window; how many traces leave room for 1.15 times the link-up bound."""
    runs = [
        result("curl", 1, 30.0, 100, clean_bound_s=11.0, clean_bound_unmetered_s=40.0),
        result("uidt", 1, 45.0, 100, clean_bound_s=11.0, clean_bound_unmetered_s=40.0),
        result("curl", 2, 30.0, 100, clean_bound_s=20.0, clean_bound_unmetered_s=20.0),
    ]
    table = bounds_markdown(runs)
    assert "| any | 1.55 / 2.00 | 1 of 2 |" in table  # 1.1 and 2.0 against 10 s
    assert "| no metered bytes | 3.00 / 4.00 | 0 of 2 |" in table
    assert bounds_markdown([]) == ""
