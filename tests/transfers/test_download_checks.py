"""download() against servers that lie: every resume is checked, every restart is bounded.

Like ``test_download.py``, every test runs on each reader (splice, ``aiohttp``, TLS).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from uidt.errors import InconsistentServerError, TransferError
from uidt.testing.httpserver import Faults, RecordingSleep, RequestRecord, TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import part_path

KiB = 1024
PATH = "/checks/file.bin"
SIZE = 200 * KiB
CUT = 120 * KiB  # where the first body is cut off


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


def _nothing_left(dest: Path) -> None:
    assert not dest.exists()


def _replace_on_first_resume(server: TransferTestServer, new: bytes) -> None:
    """Put ``new`` at PATH just before the server answers the first ``Range`` request."""
    replaced = False

    def hook(record: RequestRecord) -> None:
        nonlocal replaced
        if record.range is not None and not replaced:
            replaced = True
            server.change_file(PATH, new)

    server.on_request = hook


# -- issue 14 item 1: a Content-Length larger than the body --------------------------------
async def test_length_larger_than_body_ends_with_a_clear_reason(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    server.add_file(PATH, os.urandom(SIZE))
    server.set_faults(PATH, Faults(overstate_length=1000))
    dest = tmp_path / "out.bin"
    with pytest.raises(InconsistentServerError, match="fewer bytes than it announced, 3 times"):
        await asyncio.wait_for(download(server.url(PATH), dest, sleep=no_wait, retries=2), 20)
    _nothing_left(dest)
    # each round is a 200 cut short, then a resume answered 416: bounded, not forever
    assert len(server.gets()) == 6


async def test_length_larger_than_body_once_then_fine(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    data = os.urandom(SIZE)
    server.add_file(PATH, data)
    server.set_faults(PATH, Faults(overstate_length=1000, times=1))
    dest = tmp_path / "out.bin"
    result = await download(server.url(PATH), dest, sleep=no_wait, sha256=_sha(data))
    assert dest.read_bytes() == data
    assert Notice.RESTARTED_SHORT_BODY in result.notices


# -- issue 14 item 2: two versions spliced into one file -----------------------------------
async def test_last_modified_only_server_ignoring_if_range(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    old, new = os.urandom(SIZE), os.urandom(SIZE)
    server.add_file(PATH, old)
    server.set_faults(PATH, Faults(no_etag=True, ignore_if_range=True, truncate_after=CUT, times=1))
    _replace_on_first_resume(server, new)
    dest = tmp_path / "out.bin"
    result = await download(server.url(PATH), dest, sleep=no_wait)
    assert dest.read_bytes() == new
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices
    resume = server.gets()[1]
    assert resume.if_range is not None
    assert resume.status == 206  # the server did ignore it


async def test_no_validators_and_the_size_changed(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    old, new = os.urandom(SIZE), os.urandom(SIZE + 5000)
    server.add_file(PATH, old)
    server.set_faults(
        PATH, Faults(no_etag=True, no_last_modified=True, truncate_after=CUT, times=1)
    )
    _replace_on_first_resume(server, new)
    dest = tmp_path / "out.bin"
    result = await download(server.url(PATH), dest, sleep=no_wait, sha256=_sha(new))
    assert dest.read_bytes() == new
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices


async def test_no_validators_same_size_new_bytes_caught_by_the_overlap(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    old, new = os.urandom(SIZE), os.urandom(SIZE)
    server.add_file(PATH, old)
    server.set_faults(
        PATH, Faults(no_etag=True, no_last_modified=True, truncate_after=CUT, times=1)
    )
    _replace_on_first_resume(server, new)
    dest = tmp_path / "out.bin"
    result = await download(server.url(PATH), dest, sleep=no_wait)
    assert dest.read_bytes() == new
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices


async def test_no_validators_unchanged_resumes_after_checking_the_overlap(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    data = os.urandom(SIZE)
    server.add_file(PATH, data)
    server.set_faults(
        PATH, Faults(no_etag=True, no_last_modified=True, truncate_after=CUT, times=1)
    )
    dest = tmp_path / "out.bin"
    result = await download(server.url(PATH), dest, sleep=no_wait)
    assert dest.read_bytes() == data
    assert Notice.RESUME_UNVERIFIED in result.notices
    assert Notice.RESTARTED_RESOURCE_CHANGED not in result.notices
    resume = server.gets()[1]
    assert resume.status == 206
    assert 0 < CUT - resume.start <= 64 * KiB  # asked again for a little before the cut
    assert result.bytes_received < SIZE + 64 * KiB


async def test_no_validators_with_sha256_also_checks_the_overlap(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    """The overlap restarts at once; the SHA-256 alone could only fail the run at the end."""
    old, new = os.urandom(SIZE), os.urandom(SIZE)
    server.add_file(PATH, old)
    server.set_faults(
        PATH, Faults(no_etag=True, no_last_modified=True, truncate_after=CUT, times=1)
    )
    _replace_on_first_resume(server, new)
    dest = tmp_path / "out.bin"
    result = await download(server.url(PATH), dest, sleep=no_wait, sha256=_sha(new))
    assert dest.read_bytes() == new
    assert Notice.RESUME_UNVERIFIED_SHA256 in result.notices
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices
    assert not part_path(dest).exists()


async def test_recorded_total_is_never_overwritten_by_a_206(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    """Same ETag, other length: the server contradicts itself; restart, never splice."""
    old = os.urandom(SIZE)
    server.add_file(PATH, old)
    etag = server.etag(PATH)
    server.set_faults(PATH, Faults(truncate_after=CUT, times=1))
    new = os.urandom(SIZE - 1000)

    def hook(record: RequestRecord) -> None:
        if record.range is not None:
            assert server.change_file(PATH, new, keep_etag=True) == etag
            server.on_request = None

    server.on_request = hook
    dest = tmp_path / "out.bin"
    result = await download(server.url(PATH), dest, sleep=no_wait)
    assert dest.read_bytes() == new
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices


async def test_a_file_that_changes_on_every_try_gives_up(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    server.add_file(PATH, os.urandom(SIZE))
    server.set_faults(PATH, Faults(truncate_after=CUT))

    def hook(record: RequestRecord) -> None:
        if record.range is not None:
            server.change_file(PATH, os.urandom(SIZE))

    server.on_request = hook
    dest = tmp_path / "out.bin"
    with pytest.raises(TransferError, match="changed on the server 3 times"):
        await asyncio.wait_for(download(server.url(PATH), dest, sleep=no_wait, retries=2), 20)
    _nothing_left(dest)


# -- issue 20: a 200 to an If-Range resume is the whole new file: use it ---------------------
async def test_a_200_to_if_range_is_written_from_zero_not_asked_for_again(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    old, new = os.urandom(SIZE), os.urandom(SIZE + 5000)
    server.add_file(PATH, old)
    server.set_faults(PATH, Faults(truncate_after=CUT, times=1))
    _replace_on_first_resume(server, new)
    dest = tmp_path / "out.bin"
    estimates: list[int] = []
    result = await download(
        server.url(PATH), dest, sleep=no_wait, sha256=_sha(new), on_estimate=estimates.append
    )
    assert dest.read_bytes() == new
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices
    gets = server.gets()
    assert [(r.status, r.if_range is not None) for r in gets] == [(200, False), (200, True)]
    # the old bytes once, the new file once: nothing dropped, no third request
    assert server.bytes_sent(PATH) == CUT + len(new)
    assert result.bytes_received == CUT + len(new)
    assert result.attempts == 2
    assert estimates[-1] == len(new)  # the total recorded is the new answer's


async def test_a_200_to_if_range_cut_short_resumes_the_new_version(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    """The new answer breaks off: the next resume names the new file's ETag and continues it."""
    old, new = os.urandom(SIZE), os.urandom(SIZE)
    server.add_file(PATH, old)
    server.set_faults(PATH, Faults(truncate_after=CUT, times=2))
    _replace_on_first_resume(server, new)
    dest = tmp_path / "out.bin"
    result = await download(server.url(PATH), dest, sleep=no_wait, sha256=_sha(new))
    assert dest.read_bytes() == new
    gets = server.gets()
    assert [r.status for r in gets] == [200, 200, 206]
    assert gets[2].if_range == server.etag(PATH)
    assert gets[2].start == CUT
    assert server.bytes_sent(PATH) == CUT + len(new)
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices


async def test_a_200_to_if_range_announcing_more_than_it_sends(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    """A Content-Length larger than the new body: the usual short-body handling."""
    old, new = os.urandom(SIZE), os.urandom(SIZE)
    server.add_file(PATH, old)
    server.set_faults(PATH, Faults(truncate_after=CUT, times=1))
    replaced = False

    def hook(record: RequestRecord) -> None:
        nonlocal replaced
        if record.range is not None and not replaced:
            replaced = True
            server.change_file(PATH, new)
            server.set_faults(PATH, Faults(overstate_length=1000, times=1))

    server.on_request = hook
    dest = tmp_path / "out.bin"
    result = await download(server.url(PATH), dest, sleep=no_wait, sha256=_sha(new))
    assert dest.read_bytes() == new
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices
    assert Notice.RESTARTED_SHORT_BODY in result.notices
    # the new body (short of its length), the 416 at its real end, then the file once more
    assert [r.status for r in server.gets()] == [200, 200, 416, 200]
    assert not part_path(dest).exists()


async def test_a_200_to_if_range_with_the_old_etag_is_not_adopted(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    """A server that ignores ranges and keeps the old ETag for new bytes: restart as before."""
    old, new = os.urandom(SIZE), os.urandom(SIZE)
    server.add_file(PATH, old)
    etag = server.etag(PATH)
    server.set_faults(PATH, Faults(truncate_after=CUT, times=1))
    lied = False

    def hook(record: RequestRecord) -> None:
        nonlocal lied
        if record.range is not None and not lied:
            lied = True
            assert server.change_file(PATH, new, keep_etag=True) == etag
            server.set_faults(PATH, Faults(no_ranges=True))

    server.on_request = hook
    dest = tmp_path / "out.bin"
    result = await download(server.url(PATH), dest, sleep=no_wait)
    assert dest.read_bytes() == new  # never old and new spliced
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices
    gets = server.gets()
    assert [(r.status, r.if_range is not None) for r in gets] == [
        (200, False),
        (200, True),
        (200, False),
    ]


async def test_a_200_to_if_range_without_a_length_is_used_through_aiohttp(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep, engine: str
) -> None:
    """The splice reader needs a length: aiohttp asks once more, then that body is used."""
    old, new = os.urandom(SIZE), os.urandom(SIZE)
    server.add_file(PATH, old)
    server.set_faults(PATH, Faults(truncate_after=CUT, times=1))
    replaced = False

    def hook(record: RequestRecord) -> None:
        nonlocal replaced
        if record.range is not None and not replaced:
            replaced = True
            server.change_file(PATH, new)
            server.set_faults(PATH, Faults(no_length=True))

    server.on_request = hook
    dest = tmp_path / "out.bin"
    result = await download(server.url(PATH), dest, sleep=no_wait, sha256=_sha(new))
    assert dest.read_bytes() == new
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices
    gets = server.gets()
    # uidt's own reader's chunked answer is asked for again by aiohttp (the same request)
    expected = 3 if engine != "aiohttp" else 2
    assert [(r.status, r.if_range is not None) for r in gets] == [(200, False)] + [(200, True)] * (
        expected - 1
    )
