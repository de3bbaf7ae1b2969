"""Resuming across mirrors (download(..., mirrors=...), PartFile's adopted checkpoint): a part
file another source of the same file left is continued only where this source answers the
Range request under the recorded validator with the same size; anything else starts from zero,
and a mirror that lies about its ETag is caught by --sha256 before a byte is published."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from uidt.errors import IntegrityError, RetryLaterError
from uidt.testing.httpserver import Faults, TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.mirrors import from_sources
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import checkpoint_path, part_path
from uidt.transfers.request import RequestOptions
from uidt.transfers.retry import RetryPolicy

DATA = os.urandom(2 * 1024 * 1024 + 77)
OTHER = os.urandom(len(DATA))  # another version of the same size
HALF = 1024 * 1024
WHEN = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PATH = "/f.bin"


@pytest.fixture
async def mirror() -> AsyncIterator[TransferTestServer]:
    async with TransferTestServer() as running:
        yield running


async def _half_from(server: TransferTestServer, dest: Path, **faults: bool) -> None:
    """A download of ``server``'s file that broke off after :data:`HALF` bytes (``faults``:
    the server's lasting ones, ``no_etag``...)."""
    server.set_faults(PATH, Faults(reset_after=HALF, times=1, **faults))
    with pytest.raises(RetryLaterError):
        await download(
            server.url(PATH), dest, retries=RetryPolicy(retries=0, link_retries=0), sleep=_no_wait
        )
    assert part_path(dest).stat().st_size == HALF


async def _no_wait(seconds: float) -> None:
    pass


async def test_a_mirror_with_the_same_size_and_etag_continues_the_part_file(
    server: TransferTestServer, mirror: TransferTestServer, tmp_path: Path
) -> None:
    etag = server.add_file(PATH, DATA)
    mirror.add_file(PATH, DATA, etag=etag)
    dest = tmp_path / "f.bin"
    await _half_from(server, dest)
    got = await download(mirror.url(PATH), dest, mirrors=[server.url(PATH)])
    assert dest.read_bytes() == DATA
    assert got.resumed_from == HALF
    assert Notice.RESUMED_OTHER_SOURCE in got.notices
    [asked] = mirror.requests
    assert (asked.range, asked.if_range, asked.status) == (f"bytes={HALF}-", etag, 206)
    assert mirror.bytes_sent(PATH) == len(DATA) - HALF  # nothing fetched twice
    assert not checkpoint_path(dest).exists()


async def test_a_mirror_with_the_same_last_modified_and_no_etag_continues_it(
    server: TransferTestServer, mirror: TransferTestServer, tmp_path: Path
) -> None:
    for running in (server, mirror):
        running.add_file(PATH, DATA, last_modified=WHEN)
        running.set_faults(PATH, Faults(no_etag=True))
    dest = tmp_path / "f.bin"
    await _half_from(server, dest, no_etag=True)
    got = await download(mirror.url(PATH), dest, mirrors=[server.url(PATH)])
    assert dest.read_bytes() == DATA
    assert Notice.RESUMED_OTHER_SOURCE in got.notices
    [asked] = mirror.requests
    assert asked.status == 206
    assert asked.if_range is not None
    # No strong ETag vouches for the bytes: the 16 KiB before the offset are compared again.
    assert mirror.bytes_sent(PATH) == len(DATA) - HALF + 16 * 1024


async def test_a_mirror_with_the_same_size_and_another_etag_restarts_never_mixing(
    server: TransferTestServer, mirror: TransferTestServer, tmp_path: Path
) -> None:
    server.add_file(PATH, DATA)
    mirror.add_file(PATH, OTHER)  # the same size, another version
    dest = tmp_path / "f.bin"
    await _half_from(server, dest)
    got = await download(mirror.url(PATH), dest, mirrors=[server.url(PATH)])
    assert dest.read_bytes() == OTHER  # whole: not half of each
    assert Notice.RESTARTED_OTHER_SOURCE in got.notices
    assert [r.status for r in mirror.requests] == [200]  # its answer's body was taken whole


async def test_a_mirror_that_claims_the_etag_for_other_bytes_is_caught_by_the_sha256(
    server: TransferTestServer, mirror: TransferTestServer, tmp_path: Path
) -> None:
    etag = server.add_file(PATH, DATA)
    mirror.add_file(PATH, OTHER, etag=etag)  # a liar: the same ETag and size, other bytes
    dest = tmp_path / "f.bin"
    await _half_from(server, dest)
    digest = hashlib.sha256(DATA).hexdigest()
    with pytest.raises(IntegrityError, match="SHA-256"):
        await download(mirror.url(PATH), dest, sha256=digest, mirrors=[server.url(PATH)])
    assert not dest.exists()  # nothing wrong was published
    assert not part_path(dest).exists()


async def test_the_job_moves_on_from_the_liar_and_ends_with_the_right_file(
    server: TransferTestServer, mirror: TransferTestServer, tmp_path: Path
) -> None:
    etag = server.add_file(PATH, DATA)
    mirror.add_file(PATH, OTHER, etag=etag)
    dest = tmp_path / "f.bin"
    await _half_from(server, dest)
    every = [mirror.url(PATH), server.url(PATH)]
    digest = hashlib.sha256(DATA).hexdigest()

    async def fetch(url: str, request: RequestOptions) -> object:
        mirrors = [other for other in every if other != url]
        return await download(url, dest, sha256=digest, mirrors=mirrors, request=request)

    switched: list[str] = []
    await from_sources(every, RequestOptions(), fetch, on_switch=lambda s, r: switched.append(r))
    assert dest.read_bytes() == DATA
    assert len(switched) == 1
    assert "SHA-256" in switched[0]


async def test_a_mirrors_part_file_without_validators_restarts_from_zero(
    server: TransferTestServer, mirror: TransferTestServer, tmp_path: Path
) -> None:
    for running in (server, mirror):
        running.add_file(PATH, DATA)
        running.set_faults(PATH, Faults(no_etag=True, no_last_modified=True))
    dest = tmp_path / "f.bin"
    await _half_from(server, dest, no_etag=True, no_last_modified=True)
    got = await download(mirror.url(PATH), dest, mirrors=[server.url(PATH)])
    assert dest.read_bytes() == DATA
    assert Notice.RESTARTED_OTHER_SOURCE in got.notices
    assert [r.range for r in mirror.requests] == [None]


async def test_a_part_file_of_a_url_that_is_no_mirror_is_still_ignored(
    server: TransferTestServer, mirror: TransferTestServer, tmp_path: Path
) -> None:
    etag = server.add_file(PATH, DATA)
    mirror.add_file(PATH, DATA, etag=etag)
    dest = tmp_path / "f.bin"
    await _half_from(server, dest)
    got = await download(mirror.url(PATH), dest)
    assert dest.read_bytes() == DATA
    assert got.resumed_from == 0
    assert [r.range for r in mirror.requests] == [None]
