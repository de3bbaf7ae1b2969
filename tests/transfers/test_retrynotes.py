"""The retry listener and :class:`RetryNote`: every retry of a run is told, the same reason is
posted once, a new one at the notification sinks' pace, and bytes that flow make the next
failure news again. The segmented engine's retries (one budget per range) reach the listener
of the run that started them."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from uidt.notify.ratelimit import DEFAULT_MIN_INTERVAL_MS
from uidt.testing.clock import FakeClock
from uidt.testing.httpserver import Faults, RecordingSleep, TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.failures import TransientStatusError
from uidt.transfers.rawhttp import ConnectFailedError
from uidt.transfers.retrynotes import RetryNote, listening, retrying

KiB = 1024
MiB = 1024 * KiB
REFUSED = ConnectFailedError("h", 9, ConnectionRefusedError(111, "x"))
BUSY = TransientStatusError(503, "Service Unavailable", None)


def test_the_same_reason_is_posted_once() -> None:
    clock = FakeClock()
    note = RetryNote(clock, lambda text: text)
    assert note.failed(REFUSED) == "retrying: cannot reach h:9 (connection refused)"
    for _ in range(5):
        clock.advance(1000)
        assert note.failed(REFUSED) is None  # no news: not posted once per attempt


def test_a_new_reason_is_posted_at_the_sinks_pace() -> None:
    clock = FakeClock()
    note = RetryNote(clock, lambda text: text)
    note.failed(REFUSED)
    clock.advance(DEFAULT_MIN_INTERVAL_MS - 1)
    assert note.failed(BUSY) is None  # too soon after the last post
    clock.advance(1)
    assert note.failed(BUSY) == "retrying: the server answered HTTP 503 Service Unavailable"


def test_bytes_that_flow_make_the_next_failure_news() -> None:
    clock = FakeClock()
    note = RetryNote(clock, lambda text: text)
    note.failed(REFUSED)
    note.flowing()
    clock.advance(DEFAULT_MIN_INTERVAL_MS)
    assert note.failed(REFUSED) == "retrying: cannot reach h:9 (connection refused)"


def test_the_text_is_scrubbed() -> None:
    note = RetryNote(FakeClock(), lambda text: text.replace("h:9", "***"))
    assert note.failed(REFUSED) == "retrying: cannot reach *** (connection refused)"


def test_a_retry_outside_a_listening_block_is_told_to_no_one() -> None:
    told: list[BaseException] = []
    with listening(told.append):
        retrying(REFUSED)
    retrying(BUSY)
    assert told == [REFUSED]


async def test_the_ranges_of_a_segmented_download_tell_the_runs_listener(
    tmp_path: Path,
) -> None:
    data = os.urandom(1 * MiB + 4321)
    dest = tmp_path / "out.bin"
    told: list[BaseException] = []
    async with TransferTestServer() as server:
        server.add_file("/seg.bin", data)
        # the first three ranges break after 100 000 bytes: each is asked again
        server.set_faults("/seg.bin", Faults(reset_after=100_000, times=3, drip_bps=4 * MiB))
        options: dict[str, Any] = {"split": 4, "min_split_size": 64 * KiB}
        with listening(told.append):
            result = await asyncio.wait_for(
                download(server.url("/seg.bin"), dest, sleep=RecordingSleep(), **options), 30
            )
    assert dest.read_bytes() == data
    assert result.connections == 4
    assert len(told) >= 3
    assert all(isinstance(exc, ConnectionError) for exc in told)
