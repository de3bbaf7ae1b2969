"""download() against the real loopback server, one fault at a time.

Every test runs on each reader (``READERS`` of the conftest): uidt's own over plain HTTP
(splice, the default), ``aiohttp`` (``raw_http=False``, as for redirects and chunked bodies),
and uidt's own over TLS (the server speaks HTTPS, trusted with ``--cacert``).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from uidt.errors import IntegrityError, RemoteError, RetryLaterError, TransferError
from uidt.testing.httpserver import Faults, RecordingSleep, TransferTestServer
from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.download import download
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import checkpoint_path, part_path
from uidt.transfers.progress import Progress
from uidt.transfers.retry import RetryPolicy

KiB = 1024
PATH = "/data/file.bin"


@pytest.fixture(autouse=True)
def engine(reader: str, reader_options: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the given body reader (``download`` here is patched to use it)."""
    real = sys.modules["uidt.transfers.download"].download
    monkeypatch.setattr(
        sys.modules[__name__], "download", functools.partial(real, **reader_options)
    )
    return reader


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _listing(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


def _overwrite_start(path: Path, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.write(data)


def _assert_clean_finish(dest: Path, data: bytes) -> None:
    assert dest.read_bytes() == data
    assert not part_path(dest).exists()
    assert not checkpoint_path(dest).exists()


async def test_plain_download_reports_estimate_and_progress(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    estimates: list[int] = []
    reports: list[Progress] = []
    dest = tmp_path / "out.bin"
    result = await download(
        server.url(PATH),
        dest,
        sha256=_sha(payload),
        on_estimate=estimates.append,
        on_progress=reports.append,
    )
    _assert_clean_finish(dest, payload)
    assert result.size == len(payload)
    assert result.sha256 == _sha(payload)
    assert result.resumed_from == 0
    assert result.notices == ()
    assert estimates == [len(payload)]
    assert reports[-1].done == len(payload)
    assert reports[-1].total == len(payload)


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param(Faults(reset_after=700 * KiB, times=3), id="connection-reset"),
        pytest.param(Faults(truncate_after=900 * KiB, times=2), id="truncated-body"),
        pytest.param(Faults(status=503, times=3), id="5xx-burst"),
        pytest.param(Faults(status=429, retry_after="7", times=1), id="429-retry-after"),
    ],
)
async def test_transient_faults_are_retried_and_resumed(
    server: TransferTestServer,
    payload: bytes,
    tmp_path: Path,
    no_wait: RecordingSleep,
    faults: Faults,
    engine: str,
) -> None:
    server.add_file(PATH, payload)
    server.set_faults(PATH, faults)
    dest = tmp_path / "out.bin"
    result = await download(
        server.url(PATH), dest, sha256=_sha(payload), sleep=no_wait, checkpoint_bytes=256 * KiB
    )
    _assert_clean_finish(dest, payload)
    assert Notice.RETRIED in result.notices
    assert len(no_wait.delays) == faults.times
    gets = [r for r in server.requests if r.method == "GET"]
    if faults.reset_after or faults.truncate_after:
        # every retry resumed where the previous body stopped
        assert all(r.status == 206 for r in gets[1:])
        starts = [r.start for r in gets]
        assert starts == sorted(set(starts))
        if engine != "aiohttp":  # the copying thread waits for checkpoints: nothing sent twice
            assert server.bytes_sent(PATH) == len(payload)
        # The aiohttp reader awaits a late checkpoint (the loop serves other jobs meanwhile),
        # and aiohttp keeps reading ahead into its buffer: what it held when the connection
        # failed is asked for again.
    if faults.retry_after:
        assert no_wait.delays == [7.0]


async def test_retry_after_http_date_is_honoured(
    server: TransferTestServer, payload: bytes, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    from uidt.testing.clock import FakeClock

    clock = FakeClock()
    server.add_file(PATH, payload)
    server.set_faults(
        PATH, Faults(status=429, retry_after="Thu, 01 Jan 2026 00:00:42 GMT", times=1)
    )
    await download(server.url(PATH), tmp_path / "o", sleep=no_wait, clock=clock)
    assert no_wait.delays == [42.0]


async def test_5xx_forever_ends_the_run_to_retry_later(
    server: TransferTestServer, payload: bytes, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    server.add_file(PATH, payload)
    server.set_faults(PATH, Faults(status=502))
    dest = tmp_path / "out.bin"
    with pytest.raises(RetryLaterError, match="kept answering HTTP 502"):
        await download(server.url(PATH), dest, sleep=no_wait, retries=3)
    assert no_wait.delays == [0.5, 1.0, 2.0]
    assert not dest.exists()


@pytest.mark.parametrize("status", [404, 403, 410])
async def test_permanent_status_fails_at_once(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep, status: int
) -> None:
    server.set_faults(PATH, Faults(status=status))
    with pytest.raises(RemoteError, match=str(status)):
        await download(server.url(PATH), tmp_path / "o", sleep=no_wait)
    assert no_wait.delays == []
    assert not (tmp_path / "o").exists()


async def test_missing_file_is_404(server: TransferTestServer, tmp_path: Path) -> None:
    with pytest.raises(RemoteError, match="404"):
        await download(server.url("/nope"), tmp_path / "o")


async def test_redirect_loop_is_a_remote_error(server: TransferTestServer, tmp_path: Path) -> None:
    server.set_faults("/loop", Faults(redirect_to="/loop"))
    with pytest.raises(RemoteError, match="redirect"):
        await download(server.url("/loop"), tmp_path / "o", max_redirects=4)


async def test_redirect_is_followed(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    server.set_faults("/old", Faults(redirect_to=PATH))
    await download(server.url("/old"), tmp_path / "o")
    assert (tmp_path / "o").read_bytes() == payload


@pytest.mark.parametrize("url", ["ftp://example.org/x", "not a url", "http:///nohost"])
async def test_bad_url(url: str, tmp_path: Path) -> None:
    with pytest.raises(TransferError, match="bad URL"):
        await download(url, tmp_path / "o")


async def test_unreachable_host_after_retries(tmp_path: Path, no_wait: RecordingSleep) -> None:
    async with TransferTestServer() as gone:
        url = gone.url(PATH)
    with pytest.raises(RetryLaterError, match="cannot reach") as raised:
        await download(url, tmp_path / "o", sleep=no_wait, retries=2)
    assert raised.value.progressed is False
    # a link error is retried about every second, about a minute long (not 2 statuses' worth)
    assert len(no_wait.delays) == RetryPolicy().link_retries
    assert all(0.0 < delay <= 1.0 for delay in no_wait.delays)


async def test_sha256_mismatch_leaves_nothing(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    dest = tmp_path / "out.bin"
    with pytest.raises(IntegrityError, match="SHA-256"):
        await download(server.url(PATH), dest, sha256="0" * 64)
    assert _listing(tmp_path) == []


async def test_cancel_then_resume(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    server.set_faults(PATH, Faults(drip_bps=4 * 1024 * 1024))
    dest = tmp_path / "out.bin"
    task = asyncio.create_task(
        download(server.url(PATH), dest, sha256=_sha(payload), checkpoint_bytes=128 * KiB)
    )
    await asyncio.wait_for(server.wait_bytes_sent(PATH, 1024 * KiB), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not dest.exists()
    saved = Checkpoint(checkpoint_path(dest)).load()
    assert saved is not None
    assert saved["offset"] == part_path(dest).stat().st_size > 0
    stopped_at = saved["offset"]
    server.set_faults(PATH)
    result = await download(server.url(PATH), dest, sha256=_sha(payload))
    _assert_clean_finish(dest, payload)
    assert result.resumed_from == stopped_at
    assert result.bytes_received == len(payload) - stopped_at
    assert Notice.RESUMED in result.notices


async def test_etag_change_restarts_from_zero(
    server: TransferTestServer, payload: bytes, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    server.add_file(PATH, payload)
    server.set_faults(PATH, Faults(reset_after=1024 * KiB, times=1))
    new_payload = payload[::-1]

    def change_after_first(record: object) -> None:
        if len(server.requests) == 2:
            server.change_file(PATH, new_payload)

    server.on_request = change_after_first
    dest = tmp_path / "out.bin"
    result = await download(server.url(PATH), dest, sleep=no_wait, checkpoint_bytes=128 * KiB)
    _assert_clean_finish(dest, new_payload)
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices
    assert server.requests[1].if_range is not None
    assert server.requests[1].status == 200


async def test_etag_change_between_runs_restarts_from_zero(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    await _interrupted_run(server, payload, tmp_path / "out.bin")
    server.change_file(PATH, payload[:1000])
    result = await download(server.url(PATH), tmp_path / "out.bin")
    _assert_clean_finish(tmp_path / "out.bin", payload[:1000])
    assert result.notices == (Notice.RESUMED, Notice.RESTARTED_RESOURCE_CHANGED)


async def test_etag_change_fault_restarts_from_zero(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "out.bin"
    await _interrupted_run(server, payload, dest)
    server.set_faults(PATH, Faults(change_etag=True, times=1))
    result = await download(server.url(PATH), dest, sha256=_sha(payload))
    _assert_clean_finish(dest, payload)
    assert result.notices == (Notice.RESUMED, Notice.RESTARTED_RESOURCE_CHANGED)
    assert result.bytes_received == len(payload)


async def test_server_without_ranges_restarts_from_zero(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "out.bin"
    await _interrupted_run(server, payload, dest)
    server.set_faults(PATH, Faults(no_ranges=True))
    notices: list[Notice] = []
    result = await download(server.url(PATH), dest, sha256=_sha(payload), on_notice=notices.append)
    _assert_clean_finish(dest, payload)
    assert notices == [Notice.RESUMED, Notice.RESTARTED_NO_RANGES]
    assert result.bytes_received == len(payload)


async def test_corrupt_prefix_is_detected_and_restarted(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "out.bin"
    await _interrupted_run(server, payload, dest)
    _overwrite_start(part_path(dest), b"garbage")
    result = await download(server.url(PATH), dest, sha256=_sha(payload))
    _assert_clean_finish(dest, payload)
    assert result.notices == (Notice.RESTARTED_BAD_CHECKPOINT,)


async def test_corrupt_checkpoint_starts_over(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "out.bin"
    await _interrupted_run(server, payload, dest)
    checkpoint_path(dest).write_bytes(b"{not json")
    result = await download(server.url(PATH), dest, sha256=_sha(payload))
    _assert_clean_finish(dest, payload)
    assert result.resumed_from == 0


async def test_chunked_response_without_length(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    server.set_faults(PATH, Faults(no_length=True))
    estimates: list[int] = []
    await download(server.url(PATH), tmp_path / "o", on_estimate=estimates.append)
    assert (tmp_path / "o").read_bytes() == payload
    assert estimates == []


async def test_complete_part_file_is_finished_by_416(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "out.bin"
    server.add_file(PATH, payload)
    part_path(dest).write_bytes(payload)
    etag = server.etag(PATH)
    Checkpoint(checkpoint_path(dest)).save(
        {
            "version": 1,
            "kind": "download",
            "url": server.url(PATH),
            "etag": etag,
            "last_modified": None,
            "total": len(payload),
            "offset": len(payload),
            "sha256_prefix": None,
        }
    )
    result = await download(server.url(PATH), dest)
    _assert_clean_finish(dest, payload)
    assert result.bytes_received == 0


async def _interrupted_run(server: TransferTestServer, payload: bytes, dest: Path) -> None:
    """Leave a part file and checkpoint behind, as a stopped run would.

    The server drips (at full speed it can push the whole body into the socket buffers before
    the client has even read the head, and a cancel then leaves nothing behind); the run is
    cancelled once the part file holds some of it.
    """
    server.add_file(PATH, payload)
    server.set_faults(PATH, Faults(drip_bps=4 * 1024 * KiB))
    task = asyncio.create_task(
        download(server.url(PATH), dest, sha256=_sha(payload), checkpoint_bytes=64 * KiB)
    )
    deadline = asyncio.get_running_loop().time() + 10
    while _size(part_path(dest)) < 256 * KiB:
        assert asyncio.get_running_loop().time() < deadline, "the download did not start"
        await asyncio.sleep(0.01)  # polling a file another thread writes, bounded
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    server.set_faults(PATH)
    assert part_path(dest).stat().st_size > 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def test_read_timeout_is_retried(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    server.pause(PATH)

    def on_notice(notice: Notice) -> None:
        if notice is Notice.RETRIED:
            server.unpause(PATH)

    timeout = aiohttp.ClientTimeout(sock_read=0.2)
    async with aiohttp.ClientSession(auto_decompress=False, timeout=timeout) as session:
        result = await download(
            server.url(PATH),
            tmp_path / "o",
            session=session,
            read_timeout=0.2,
            on_notice=on_notice,
        )
    assert (tmp_path / "o").read_bytes() == payload
    assert result.notices == (Notice.RETRIED,)


async def test_unwritable_destination_is_a_transfer_error(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    _write(tmp_path / "a-file", b"")
    with pytest.raises(TransferError, match="cannot write"):
        await download(server.url(PATH), tmp_path / "a-file" / "out.bin")


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


class _TickingClock:
    """Every reading is one second after the previous one."""

    def __init__(self) -> None:
        from uidt.testing.clock import FakeClock

        self._clock = FakeClock()

    def elapsed(self) -> int:
        self._clock.advance(1000)
        return self._clock.elapsed()

    def utc(self) -> datetime:
        return self._clock.utc()


@pytest.mark.parametrize(
    ("checkpoint_bytes", "checkpoint_seconds", "at_least"),
    [(256 * KiB, 1e9, 12), (1 << 40, 0.5, 5)],  # without either: 2 saves
    ids=["by-size", "by-time"],
)
async def test_checkpoints_by_size_and_by_time(
    server: TransferTestServer,
    payload: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    checkpoint_bytes: int,
    checkpoint_seconds: float,
    at_least: int,
    engine: str,
) -> None:
    if engine == "aiohttp" and checkpoint_bytes < 1 << 20:
        # While the engine awaits a late checkpoint (the loop serves other jobs meanwhile)
        # aiohttp reads ahead, and hands the bytes over in larger pieces: fewer checkpoints
        # of this tiny interval, each after one piece.
        at_least = 5
    offsets: list[int] = []
    original = Checkpoint.save

    def counting_save(self: Checkpoint, state: dict[str, Any], *, sync: bool = True) -> None:
        offsets.append(state["offset"])
        original(self, state, sync=sync)

    monkeypatch.setattr(Checkpoint, "save", counting_save)
    server.add_file(PATH, payload)
    server.chunk_size = 64 * KiB
    await download(
        server.url(PATH),
        tmp_path / "o",
        checkpoint_bytes=checkpoint_bytes,
        checkpoint_seconds=checkpoint_seconds,
        clock=_TickingClock(),
    )
    assert len(offsets) >= at_least
    assert offsets == sorted(offsets)
    assert offsets[-1] == len(payload)
