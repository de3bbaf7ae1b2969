"""The bytes a byte-exact client needed, and the time to its first body byte."""

from __future__ import annotations

from bench.badday.measure import Timeline, finish
from bench.badday.needed import first_body_byte_s, needed_bytes
from bench.badday.report import MiB, RunResult, markdown, per_run_markdown, summarize
from bench.badday.trace import Event, Kind, Trace

SIZE = 10 * MiB


def trace(*events: Event) -> Trace:
    return Trace(seed=1, size=SIZE, base_mbit=80.0, events=events)


CHANGE = Event(at=5.0, kind=Kind.ETAG)


def request(t: float, status: str = "200", length: int = SIZE) -> dict[str, object]:
    return {
        "t": t,
        "event": "request",
        "line": "GET /f HTTP/1.1",
        "status": status,
        "length": length,
    }


def refused(t: float) -> dict[str, object]:
    return {"t": t, "event": "request", "line": "GET /f HTTP/1.1", "status": 503, "by": "proxy"}


def test_without_a_change_the_file_is_all_that_is_needed() -> None:
    timeline = Timeline(buckets=[(1.0, SIZE), (2.0, MiB)], proxy_events=[request(0.9)])
    assert needed_bytes(trace(), timeline) == SIZE


def test_a_client_that_never_asked_again_after_the_change_needed_the_old_file_only() -> None:
    # Its request was open before the change; it finished the old version on it.
    timeline = Timeline(buckets=[(1.0, 6 * MiB), (5.5, 4 * MiB)], proxy_events=[request(0.9)])
    assert needed_bytes(trace(CHANGE), timeline) == SIZE


def test_old_bytes_up_to_the_first_request_for_the_new_file_count_as_needed() -> None:
    # 3 MiB before the change, 1 MiB in flight on the old request after it (the client
    # cannot know), then the new file from 7.0 on.
    timeline = Timeline(
        buckets=[(1.0, 3 * MiB), (5.5, MiB), (7.0, SIZE)],
        proxy_events=[request(0.9), request(7.0, length=SIZE)],
    )
    assert needed_bytes(trace(CHANGE), timeline) == 4 * MiB + SIZE


def test_a_refused_request_after_the_change_is_not_the_new_file() -> None:
    timeline = Timeline(
        buckets=[(1.0, 3 * MiB), (6.0, 125), (7.0, SIZE)],
        proxy_events=[request(0.9), refused(6.0), request(7.0)],
    )
    assert needed_bytes(trace(CHANGE), timeline) == 3 * MiB + 125 + SIZE


def test_the_bucket_the_new_request_falls_in_holds_the_new_files_bytes() -> None:
    # Seed 11's uidt: its request at 103.563 got the new file's first bytes in the bucket
    # of 103.5; counting part of that bucket as old made it need more than it was sent.
    timeline = Timeline(
        buckets=[(1.0, 3 * MiB), (7.0, MiB), (7.1, SIZE - MiB)],
        proxy_events=[request(0.9), request(7.025)],
    )
    assert needed_bytes(trace(CHANGE), timeline) == 3 * MiB + SIZE


def test_no_client_needs_more_than_one_copy_of_the_old_version() -> None:
    # Fetched the old version twice before the change (its own waste), then the new file.
    timeline = Timeline(
        buckets=[(1.0, SIZE), (3.0, SIZE), (7.0, SIZE)],
        proxy_events=[request(0.9), request(2.9), request(7.0)],
    )
    assert needed_bytes(trace(CHANGE), timeline) == 2 * SIZE


def test_the_first_body_byte_follows_the_first_forwarded_answer_with_a_body() -> None:
    timeline = Timeline(
        buckets=[(0.5, 125), (1.0, 125), (7.1, MiB)],
        proxy_events=[refused(0.55), refused(1.06), request(7.156)],
    )
    assert first_body_byte_s(timeline) == 7.16
    assert first_body_byte_s(Timeline(proxy_events=[refused(0.5)])) is None


def test_a_head_request_has_no_body_byte() -> None:
    timeline = Timeline(
        buckets=[(0.2, 300), (0.4, MiB)],
        proxy_events=[request(0.2, length=0), request(0.45)],
    )
    assert first_body_byte_s(timeline) == 0.45


def test_finish_fills_in_needed_and_first_byte_and_the_tables_show_them() -> None:
    timeline = Timeline(
        buckets=[(1.0, 3 * MiB), (7.0, SIZE)], proxy_events=[request(0.9), request(7.0)]
    )
    base = RunResult(
        client="uidt",
        seed=1,
        byte_exact=True,
        wall_s=9.0,
        sent_bytes=0,
        size=SIZE,
        metered_bytes=0,
        user_actions=0,
        system_restarts=0,
        lower_bound_s=1.0,
        lower_bound_unmetered_s=1.0,
    )
    done = finish(base, timeline, trace(CHANGE))
    assert done.needed_bytes == 3 * MiB + SIZE
    assert done.first_byte_s == 1.0  # the bucket of 1.0 holds the first bytes
    assert round(done.sent_needed_ratio, 3) == 1.0
    (row,) = summarize([done])
    assert row.sent_needed_ratio == "1.00 / 1.00"
    assert row.first_byte_s == "1.00 / 1.00"
    assert "sent ÷ needed" in markdown([done])
    assert "first byte s" in markdown([done])
    assert "| 1.300 | 1.000 | 1.0 |" in per_run_markdown([done])


def test_a_rebuilt_report_keeps_the_command_of_the_run() -> None:
    from bench.badday import run_command

    text = "# A bad day: figures\n\nCommand: `python -m bench badday --seeds 20`\n\nFigures …\n"
    assert run_command(text) == "python -m bench badday --seeds 20"
    assert run_command("# no command\n") is None


def test_a_run_that_kept_a_mix_has_no_sent_to_needed_figure() -> None:
    # Seed 8's curl: resumed the new file after the old one's first part, no validator.
    timeline = Timeline(
        buckets=[(1.0, 6 * MiB), (6.0, 4 * MiB)], proxy_events=[request(0.9), request(6.0)]
    )
    mix = RunResult(
        client="curl",
        seed=8,
        byte_exact=False,
        wall_s=7.0,
        sent_bytes=0,
        size=SIZE,
        metered_bytes=0,
        user_actions=0,
        system_restarts=0,
        lower_bound_s=1.0,
        lower_bound_unmetered_s=1.0,
    )
    done = finish(mix, timeline, trace(CHANGE))
    assert done.needed_bytes == 6 * MiB + SIZE
    assert done.sent_needed_ratio is None
    (row,) = summarize([done])
    assert row.sent_needed_ratio == "-"
    assert "| 1.000 | - | 1.0 |" in per_run_markdown([done])


def test_a_head_held_apart_from_its_body_by_a_stall_is_no_body_byte() -> None:
    # Seed 1's curl: the head at 18.167, a stall until 21.97, the body from 22.0.
    timeline = Timeline(buckets=[(18.1, 262), (22.0, 2 * MiB)], proxy_events=[request(18.167)])
    assert first_body_byte_s(timeline) == 22.0
