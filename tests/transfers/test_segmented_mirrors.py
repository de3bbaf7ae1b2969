"""Segmented download over mirrors: ranges from several sources, never two versions.

Real loopback servers; a "mirror" is another path (or another server) serving the same bytes
under the same ETag (``add_file(etag=...)``), or, for the hostile tests, other bytes of the
same size under another ETag.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from uidt.errors import IntegrityError
from uidt.testing.httpserver import Faults, RecordingSleep, RequestRecord, TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import part_path
from uidt.transfers.request import RequestOptions

KiB = 1024
MiB = 1024 * KiB
A, B = "/a/file.bin", "/b/file.bin"
SPLIT = {"split": 4, "min_split_size": 64 * KiB}
ETAG = '"same-file-v1"'


@pytest.fixture
def data() -> bytes:
    return os.urandom(1 * MiB + 4321)


async def test_ranges_come_from_both_sources_when_they_show_the_same_file(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    server.add_file(A, data, etag=ETAG)
    server.add_file(B, data, etag=ETAG)
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(server.url(A), dest, mirrors=[server.url(B)], sleep=no_wait, **SPLIT), 30
    )
    assert dest.read_bytes() == data
    mirror = server.gets(B)
    assert mirror[0].range == "bytes=0-0"  # asked once what it holds
    assert len(mirror) >= 2  # and ranges after that
    assert all(r.if_range == ETAG for r in mirror[1:])
    assert len(server.gets(A)) >= 2
    assert Notice.MIRROR_NOT_FOR_RANGES not in result.notices


async def test_a_mirror_with_another_file_of_the_same_size_is_not_used_for_ranges(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """Hostile: the mirror serves other bytes of the same size under another ETag. Without
    --sha256 nothing could tell a mix: no range goes to it, and the notice says so."""
    server.add_file(A, data, etag=ETAG)
    server.add_file(B, os.urandom(len(data)), etag='"other-file"')
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(server.url(A), dest, mirrors=[server.url(B)], sleep=no_wait, **SPLIT), 30
    )
    assert dest.read_bytes() == data
    assert [r.range for r in server.gets(B)] == ["bytes=0-0"]
    assert len(server.gets(A)) == 4
    assert Notice.MIRROR_NOT_FOR_RANGES in result.notices


@pytest.mark.parametrize(
    "faults", [Faults(no_ranges=True), Faults(status=404)], ids=["no-ranges", "404"]
)
async def test_a_mirror_without_ranges_or_the_file_is_left_out(
    server: TransferTestServer,
    tmp_path: Path,
    data: bytes,
    no_wait: RecordingSleep,
    faults: Faults,
) -> None:
    server.add_file(A, data, etag=ETAG)
    server.add_file(B, data, etag=ETAG)
    server.set_faults(B, faults)
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(server.url(A), dest, mirrors=[server.url(B)], sleep=no_wait, **SPLIT), 30
    )
    assert dest.read_bytes() == data
    assert len(server.gets(B)) == 1
    assert Notice.MIRROR_NOT_FOR_RANGES in result.notices


async def test_a_mirror_of_another_size_is_left_out_even_with_sha256(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    server.add_file(A, data, etag=ETAG)
    server.add_file(B, data + b"x", etag=ETAG)
    digest = hashlib.sha256(data).hexdigest()
    dest = tmp_path / "out.bin"
    await asyncio.wait_for(
        download(
            server.url(A), dest, mirrors=[server.url(B)], sha256=digest, sleep=no_wait, **SPLIT
        ),
        30,
    )
    assert dest.read_bytes() == data
    assert len(server.gets(B)) == 1


async def test_with_sha256_a_mirror_under_another_etag_serves_ranges(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """Another ETag for the same bytes (two servers, two ETag schemes): the SHA-256 of the
    whole file decides, so the mirror's ranges are taken, each under the mirror's own ETag."""
    server.add_file(A, data, etag=ETAG)
    server.add_file(B, data, etag='"mirror-scheme-1"')
    digest = hashlib.sha256(data).hexdigest()
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(
            server.url(A), dest, mirrors=[server.url(B)], sha256=digest, sleep=no_wait, **SPLIT
        ),
        30,
    )
    assert dest.read_bytes() == data
    assert result.sha256 == digest
    mirror = server.gets(B)
    assert len(mirror) >= 2
    assert all(r.if_range == '"mirror-scheme-1"' for r in mirror[1:])


async def test_with_sha256_a_mirror_serving_other_bytes_is_dropped_after_the_check(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """Hostile: other bytes under another ETag, taken on the word of --sha256: the mixed file
    fails the check and is never published; the file is fetched again from the URL alone."""
    server.add_file(A, data, etag=ETAG)
    server.add_file(B, os.urandom(len(data)), etag='"liar"')
    dest = tmp_path / "out.bin"
    published: list[bytes] = []

    def hook(record: RequestRecord) -> None:  # what is under the final name at each request
        if dest.exists():
            published.append(dest.read_bytes())

    server.on_request = hook
    result = await asyncio.wait_for(
        download(
            server.url(A),
            dest,
            mirrors=[server.url(B)],
            sha256=hashlib.sha256(data).hexdigest(),
            sleep=no_wait,
            **SPLIT,
        ),
        30,
    )
    assert dest.read_bytes() == data
    assert published == []  # the mixed file never appeared under the final name
    assert Notice.RESTARTED_MIRROR_MISMATCH in result.notices
    asked_b = len(server.gets(B))
    assert asked_b >= 2  # ranges were taken from it the first time ...
    starts_after = [r for r in server.requests if r.method == "GET"][-4:]
    assert all(r.path == A for r in starts_after)  # ... and none the second


async def test_with_sha256_a_file_that_fails_without_mirrors_fails(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """The same-ETag mirror vouches for its bytes: a mismatch is the file's, not fetched
    again."""
    server.add_file(A, data, etag=ETAG)
    server.add_file(B, data, etag=ETAG)
    dest = tmp_path / "out.bin"
    with pytest.raises(IntegrityError):
        await asyncio.wait_for(
            download(
                server.url(A),
                dest,
                mirrors=[server.url(B)],
                sha256="0" * 64,
                sleep=no_wait,
                **SPLIT,
            ),
            30,
        )
    assert not dest.exists()
    assert not part_path(dest).exists()


async def test_a_mirror_of_another_origin_gets_no_secret_field(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    server.add_file(A, data, etag=ETAG)
    request = RequestOptions(headers=(("Authorization", "Bearer s3cret"),))
    async with TransferTestServer() as other:
        other.add_file(B, data, etag=ETAG)
        dest = tmp_path / "out.bin"
        await asyncio.wait_for(
            download(
                server.url(A),
                dest,
                mirrors=[other.url(B)],
                request=request,
                sleep=no_wait,
                **SPLIT,
            ),
            30,
        )
        mirror = [r for r in other.requests if r.method == "GET"]
    assert dest.read_bytes() == data
    assert len(mirror) >= 2
    assert all("authorization" not in r.headers for r in mirror)
    assert all(r.headers.get("authorization") == "Bearer s3cret" for r in server.gets(A))


async def test_a_mirror_that_changes_its_file_midway_restarts_clean(
    server: TransferTestServer, tmp_path: Path, data: bytes, no_wait: RecordingSleep
) -> None:
    """The mirror passed the check, then its file changes (a new ETag) before its range is
    asked: its answer is refused, the download starts over and never mixes."""
    server.add_file(A, data, etag=ETAG)
    server.add_file(B, data, etag=ETAG)
    server.set_faults(A, Faults(drip_bps=2 * MiB))

    def hook(record: RequestRecord) -> None:
        if record.path == B and record.range not in (None, "bytes=0-0"):
            server.change_file(B, os.urandom(len(data)))

    server.on_request = hook
    dest = tmp_path / "out.bin"
    result = await asyncio.wait_for(
        download(server.url(A), dest, mirrors=[server.url(B)], sleep=no_wait, **SPLIT), 30
    )
    assert dest.read_bytes() == data
    assert Notice.RESTARTED_RESOURCE_CHANGED in result.notices
