"""``--split auto`` starts as one connection does and hands its first answer to the ranges only
when a trial is due (:mod:`uidt.transfers.autoswitch`).

A real loopback server; per-connection limits with ``Faults(drip_bps=...)``; short probe and
trial windows (:data:`FAST`). Assertions are on bytes, requests and checkpoints, never times.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from uidt.testing.httpserver import Faults, RecordingSleep, RequestRecord, TransferTestServer
from uidt.transfers.autosplit import AutoSplit
from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.download import download
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import PartFile, checkpoint_path, part_path
from uidt.transfers.segments import SEGMENTS_KIND, load_segments

KiB = 1024
MiB = 1024 * KiB
PATH = "/autoswitch/file.bin"
FAST = AutoSplit(probe_ms=300, probe_bytes=64 * KiB, settle_ms=100, trial_ms=400, worth_ms=500)
AUTO: dict[str, Any] = {"split": "auto", "min_split_size": 128 * KiB, "auto_split": FAST}


@pytest.fixture
def data() -> bytes:
    return os.urandom(3 * MiB + 4321)


async def _wait_for(check: Any, what: str) -> Any:
    """Poll ``check()`` until it is truthy (bounded: a real transfer in another task)."""
    for _ in range(1000):
        value = check()
        if value:
            return value
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


async def test_before_a_trial_auto_is_the_one_connection_download(
    server: TransferTestServer, tmp_path: Path, data: bytes
) -> None:
    """Its part file is appended and its checkpoint is a one-connection one (kind
    ``download``), not a ``total``-byte file of ranges: the same path and cost as no
    ``--split``."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))
    dest = tmp_path / "out.bin"
    never = AutoSplit(probe_ms=300, probe_bytes=64 * KiB, worth_ms=10**9)
    task = asyncio.create_task(
        download(server.url(PATH), dest, split="auto", min_split_size=128 * KiB, auto_split=never)
    )
    try:
        await _wait_for(lambda: server.bytes_sent(PATH) >= 256 * KiB, "256 KiB sent")
        saved = await _wait_for(lambda: Checkpoint(checkpoint_path(dest)).load(), "a checkpoint")
        assert saved["kind"] == "download"
        assert part_path(dest).stat().st_size < len(data)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize("raw_http", [True, False], ids=["raw", "aiohttp"])
async def test_the_switch_goes_on_with_the_first_answer_and_fetches_no_byte_twice(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep, raw_http: bool
) -> None:
    """The first answer (``bytes=0-``) is never asked for again: it becomes the first range
    and stops exactly where the trial's range starts."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(server.url(PATH), dest, sleep=no_wait, raw_http=raw_http, **AUTO), 30
    )
    assert dest.read_bytes() == data
    assert result.connections >= 2
    starts = [r.asked_start for r in server.gets()]
    assert starts[0] == 0
    assert starts.count(0) == 1  # the first answer went on: byte 0 asked for once
    assert Notice.RETRIED not in result.notices
    if raw_http:  # each read is bounded by the range's end
        assert result.bytes_received == len(data)
    else:  # aiohttp hands whole chunks: what lies past a cut is dropped, at most one read
        assert len(data) <= result.bytes_received <= len(data) + 64 * KiB * result.connections
    assert not part_path(dest).exists()
    assert not checkpoint_path(dest).exists()


async def test_a_range_answered_whole_drops_that_connection_and_the_first_goes_on(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """The server ignores ``Range`` for the trial's connection (a ``200`` with the whole body,
    same version): that connection is closed, its range goes back to the first, whose answer
    runs to the end of the file: nothing restarts, nothing is asked for again."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))

    def hook(record: RequestRecord) -> None:
        if record.method == "GET" and record.range not in (None, "bytes=0-"):
            server.set_faults(PATH, Faults(no_ranges=True))  # the rest at full speed

    server.on_request = hook
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(server.url(PATH), dest, sleep=no_wait, raw_http=True, **AUTO), 30
    )
    assert dest.read_bytes() == data
    assert result.notices == ()
    gets = server.gets()
    assert len(gets) == 2
    assert gets[0].range == "bytes=0-"
    assert gets[1].status == 200
    assert result.bytes_received == len(data)


async def test_the_first_connection_dying_at_the_switch_is_asked_again_where_it_stopped(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """The first answer's connection is reset the moment the trial's request arrives: its
    range is asked for again from its first missing byte; the file is exact."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))

    def hook(record: RequestRecord) -> None:
        gets = server.gets()
        if record.method == "GET" and len(gets) == 2:
            server.reset_body(gets[0])

    server.on_request = hook
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(server.url(PATH), dest, sleep=no_wait, raw_http=True, **AUTO), 30
    )
    assert dest.read_bytes() == data
    gets = server.gets()
    assert gets[0].range == "bytes=0-"
    again = gets[2].asked_start
    assert 0 < again < gets[1].asked_start  # the first range, from where its connection stopped
    assert Notice.RETRIED in result.notices
    assert not any(n.name.startswith("RESTARTED") for n in result.notices)
    assert result.bytes_received == len(data)


async def test_a_new_version_at_the_switch_is_never_mixed(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """The file changes just as the trial asks (its answer names a new ETag): nothing of the
    old version stays; the run starts over on one connection and ends with the new file."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))
    new = os.urandom(len(data))

    def hook(record: RequestRecord) -> None:
        if record.method == "GET" and len(server.gets()) == 2:
            server.change_file(PATH, new)
            server.set_faults(PATH)

    server.on_request = hook
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(download(server.url(PATH), dest, sleep=no_wait, **AUTO), 30)
    assert dest.read_bytes() == new
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices
    assert server.gets()[-1].range is None  # the restart: one connection, the whole new file


@pytest.mark.parametrize("rate", [None, 4 * MiB], ids=["loopback", "4MiB/s"])
async def test_a_file_that_ends_before_the_trial_never_switches(
    server: TransferTestServer, tmp_path: Path, data: bytes, rate: int | None
) -> None:
    """Done within the probe (loopback), or with a rest under ``worth_ms`` at the probe's
    rate: one request, one connection, a one-connection checkpoint all along."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=rate))
    short = AutoSplit(probe_ms=300, probe_bytes=64 * KiB, worth_ms=5000)
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(server.url(PATH), dest, split="auto", min_split_size=128 * KiB, auto_split=short),
        30,
    )
    assert dest.read_bytes() == data
    assert [r.range for r in server.gets()] == ["bytes=0-"]
    assert result.connections == 1
    assert result.bytes_received == len(data)


_WORKER = """
import asyncio, sys
from pathlib import Path
from uidt.transfers.autosplit import AutoSplit
from uidt.transfers.download import download
fast = AutoSplit(probe_ms=300, probe_bytes=64 * 1024, settle_ms=100, trial_ms=400, worth_ms=500)
asyncio.run(download(sys.argv[1], Path(sys.argv[2]), split="auto", min_split_size=128 * 1024,
                     auto_split=fast))
"""


async def test_a_worker_killed_after_the_switch_resumes_byte_exact(
    server: TransferTestServer, tmp_path: Path
) -> None:
    """SIGKILL once the ranges began and hold bytes; the next run asks each range only from
    its checkpoint: the file is exact and what is sent twice stays under half a second of each
    connection plus one read."""
    data = os.urandom(4 * MiB)
    rate = 512 * KiB
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=rate))
    dest = tmp_path / "out.bin"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _WORKER,
        server.url(PATH),
        str(dest),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )

    def switched() -> dict[str, Any] | None:
        saved = Checkpoint(checkpoint_path(dest)).load()
        if saved and saved.get("kind") == SEGMENTS_KIND and len(saved["segments"]) >= 2:
            second = saved["segments"][1]
            if second[1] > second[0]:  # the trial's range holds bytes too
                return saved
        return None

    try:
        await _wait_for(switched, "a checkpoint of two ranges with bytes")
    finally:
        process.send_signal(signal.SIGKILL)
        await process.communicate()
    saved = Checkpoint(checkpoint_path(dest)).load()
    assert saved is not None
    assert saved["kind"] == SEGMENTS_KIND
    segments = load_segments(saved, len(data))
    assert segments is not None
    held = sum(s.present for s in segments)
    connections = len(segments)
    server.set_faults(PATH)
    sent_before = server.bytes_sent(PATH)
    result = await asyncio.wait_for(download(server.url(PATH), dest, **AUTO), 30)
    assert dest.read_bytes() == data
    assert result.resumed_from == held
    assert result.bytes_received == len(data) - held
    assert server.bytes_sent(PATH) - sent_before == len(data) - held
    resent = sent_before - held  # sent to the killed worker but never named by a checkpoint
    assert 0 <= resent <= connections * (rate // 2 + 128 * KiB) + 64 * KiB


class _Killed(BaseException):
    """Stands for a kill between the two steps of the switch (no handler catches it)."""


async def test_a_kill_between_the_switch_checkpoint_and_the_file_growing_reads_no_hole(
    server: TransferTestServer,
    tmp_path: Path,
    data: bytes,
    no_wait: RecordingSleep,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The segmented checkpoint is saved before the part file is made the file's size: a run
    stopped between the two leaves a checkpoint that does not fit the file, which the next run
    refuses (it starts over): never zeros of a hole taken as the server's bytes."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))
    dest = tmp_path / "out.bin"

    def killed(*_args: object, **_kwargs: object) -> None:
        raise _Killed

    with monkeypatch.context() as patched:
        patched.setattr(PartFile, "begin_segments", killed)
        with pytest.raises(_Killed):
            await asyncio.wait_for(download(server.url(PATH), dest, sleep=no_wait, **AUTO), 30)
    saved = Checkpoint(checkpoint_path(dest)).load()
    assert saved is not None
    assert saved["kind"] == SEGMENTS_KIND
    (start, done, end), *_ = saved["segments"]
    assert (start, end) == (0, len(data))
    assert part_path(dest).stat().st_size == done < len(data)
    server.set_faults(PATH)
    result = await asyncio.wait_for(download(server.url(PATH), dest, **AUTO), 30)
    assert dest.read_bytes() == data
    assert Notice.RESTARTED_BAD_CHECKPOINT in result.notices


async def test_a_switch_with_a_sha256_checks_the_whole_file(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """The first connection hashed as it wrote; after the switch the ranges arrive out of
    order, so the file is hashed from disk before it is published."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))
    dest = tmp_path / "out.bin"
    digest = hashlib.sha256(data).hexdigest()
    result = await asyncio.wait_for(
        download(server.url(PATH), dest, sha256=digest, sleep=no_wait, **AUTO), 30
    )
    assert result.connections >= 2
    assert result.sha256 == digest
    assert dest.read_bytes() == data


async def test_a_first_connection_broken_before_the_trial_still_switches_after_its_retry(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """The first answer is reset early (before any trial); the retry asks from where it
    stopped and is still auto: one connection first, ranges when the trial is due."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB, reset_after=96 * KiB, times=1))
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(server.url(PATH), dest, sleep=no_wait, raw_http=True, **AUTO), 30
    )
    assert dest.read_bytes() == data
    assert Notice.RETRIED in result.notices
    assert result.connections >= 2
    starts = [r.asked_start for r in server.gets()]
    assert starts[:2] == [0, 96 * KiB]  # the retry goes on from the reset
    assert result.bytes_received == len(data)


async def test_a_resumed_one_connection_auto_download_can_still_switch(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """Stopped before any trial (its checkpoint a one-connection one), the next run resumes
    on one connection and moves to ranges when its trial is due."""
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(drip_bps=1 * MiB))
    dest = tmp_path / "out.bin"
    never = AutoSplit(probe_ms=300, probe_bytes=64 * KiB, worth_ms=10**9)
    task = asyncio.create_task(
        download(server.url(PATH), dest, split="auto", min_split_size=128 * KiB, auto_split=never)
    )
    await _wait_for(lambda: server.bytes_sent(PATH) >= 256 * KiB, "256 KiB sent")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    saved = Checkpoint(checkpoint_path(dest)).load()
    assert saved is not None
    assert saved["kind"] == "download"
    before = len(server.gets())
    result = await asyncio.wait_for(
        download(server.url(PATH), dest, sleep=no_wait, raw_http=True, **AUTO), 30
    )
    assert dest.read_bytes() == data
    assert Notice.RESUMED in result.notices
    assert result.connections >= 2
    assert result.bytes_received == len(data) - result.resumed_from
    assert server.gets()[before].asked_start == result.resumed_from


@pytest.mark.parametrize("split", ["auto", 4])
@pytest.mark.parametrize("raw_http", [True, False], ids=["raw", "aiohttp"])
async def test_an_empty_file_whose_server_refuses_bytes_0_is_saved_empty(
    server: TransferTestServer, tmp_path: Path, raw_http: bool, split: Any
) -> None:
    """A zero-length file cannot satisfy ``Range: bytes=0-`` (RFC 9110 §14.1.2): servers such as
    Go's ``http.ServeContent`` (and this test server) answer ``416``. That is no error of the
    file: it is asked for again without a range and saved, empty (not failed with "416")."""
    server.add_file(PATH, b"")
    dest = tmp_path / "empty.bin"
    await download(server.url(PATH), dest, raw_http=raw_http, split=split, min_split_size=1)
    assert dest.read_bytes() == b""
    assert [r.range for r in server.gets(PATH)] == ["bytes=0-", None]
    assert [r.status for r in server.gets(PATH)] == [416, 200]
