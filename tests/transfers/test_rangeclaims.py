"""Ends of ranges moved while connections copy: a cut past the read in flight, a range given
back to the connection whose answer runs through it; and each range's writeback (made-up
ranges, real sinks, no I/O)."""

from __future__ import annotations

from uidt.testing.clock import FakeClock
from uidt.transfers.rangeclaims import claim_range, give_back
from uidt.transfers.rangesave import WRITEBACK_BYTES
from uidt.transfers.rangesink import RangeSink
from uidt.transfers.rangesources import RangeSource
from uidt.transfers.retry import RetryBudget, RetryPolicy
from uidt.transfers.segments import Segment, segments_state
from uidt.transfers.throttle import Throttle
from uidt.transfers.transport import Transports

KiB = 1024
MiB = 1024 * KiB
URL = "http://127.0.0.1:9/f"


def _sink(segment: Segment, *, body_end: int) -> RangeSink:
    transport = Transports(
        raw_http=True, session=None, read_timeout=1, max_redirects=0, allow_insecure_redirect=False
    )
    source = RangeSource(URL, transport, '"e"', None, 1000 * KiB)
    sink = RangeSink(
        -1,
        source,
        budget=RetryBudget(URL, RetryPolicy()),
        lane=Throttle().lane(),
        copy_chunk_bytes=64 * KiB,
        tick=lambda: None,
        clock=FakeClock(),
    )
    sink.take(segment)
    sink.body_end = body_end
    return sink


def test_a_claim_cuts_past_what_the_copying_thread_asked_for() -> None:
    segments = [Segment(0, 1000 * KiB, 100 * KiB)]
    first = _sink(segments[0], body_end=1000 * KiB)
    assert first.read_bytes(64 * KiB) == 64 * KiB  # a read of 64 KiB in flight
    taken = claim_range(segments, [first], least=32 * KiB, grow=True)
    assert isinstance(taken, Segment)
    assert taken.start == 164 * KiB + (1000 - 164) * KiB // 2
    assert first.read_bytes(10**9) == taken.start - 100 * KiB  # never past the new end


def test_a_read_never_runs_past_the_range_end() -> None:
    segments = [Segment(0, 100 * KiB, 90 * KiB)]
    sink = _sink(segments[0], body_end=100 * KiB)
    assert sink.read_bytes(64 * KiB) == 10 * KiB


def test_a_range_answered_whole_goes_back_to_the_answer_that_runs_through_it() -> None:
    segments = [Segment(0, 500 * KiB, 100 * KiB), Segment(500 * KiB, 1000 * KiB, 500 * KiB)]
    first = _sink(segments[0], body_end=1000 * KiB)  # the answer to bytes=0-
    second = _sink(segments[1], body_end=1000 * KiB)
    assert give_back(segments, [first, second], second)
    assert segments_state(segments) == [[0, 100 * KiB, 1000 * KiB]]


def test_no_give_back_to_an_answer_that_ends_sooner_or_a_range_already_done() -> None:
    segments = [Segment(0, 500 * KiB, 100 * KiB), Segment(500 * KiB, 1000 * KiB, 500 * KiB)]
    first = _sink(segments[0], body_end=500 * KiB)  # a range request: it ends at 500 KiB
    second = _sink(segments[1], body_end=1000 * KiB)
    assert not give_back(segments, [first, second], second)
    done = [Segment(0, 500 * KiB, 500 * KiB), Segment(500 * KiB, 1000 * KiB, 500 * KiB)]
    owner = _sink(done[0], body_end=1000 * KiB)  # its copy already stopped at 500 KiB
    dropped = _sink(done[1], body_end=1000 * KiB)
    assert not give_back(done, [owner, dropped], dropped)
    assert len(done) == 2


def test_each_range_hands_its_bytes_to_the_writeback_every_batch() -> None:
    """So a checkpoint's fdatasync finds little left to write (rangesave)."""
    asked: list[tuple[int, int]] = []
    segments = [Segment(0, 40 * MiB, 4 * MiB)]
    sink = _sink(segments[0], body_end=40 * MiB)
    sink.writeback = lambda fd, offset, length: asked.append((offset, length))
    for _ in range(20):
        sink.appended(MiB)
    assert asked == [(4 * MiB, WRITEBACK_BYTES), (4 * MiB + WRITEBACK_BYTES, WRITEBACK_BYTES)]
