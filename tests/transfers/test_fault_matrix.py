"""The fault matrix: every class of transfer fault, each ending byte-exact or with a clear error.

Each case sets up the loopback server (and sometimes the files at the destination), runs one
:func:`download` and checks the one rule that matters: either the file at the destination is
exactly what the server holds at the end, with no ``.part`` or ``.uidt`` left, or the run
raised a :class:`TransferError` with a message and there is no file at the destination. Every
case runs on each reader (splice, ``aiohttp``, and uidt's own over TLS). ``docs/reliability.md`` lists the
classes; its "tried N, held N" figure is the number of cases this file collects.

Cases are small (a 200 KiB file), backoff does not wait and timeouts are short, so the whole
matrix takes a few seconds.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from uidt.errors import (
    DestinationBusyError,
    InconsistentServerError,
    NoSpaceError,
    RemoteError,
    ResourceChangedError,
    RetryLaterError,
    TransferError,
)
from uidt.testing.httpserver import Faults, RecordingSleep, RequestRecord, TransferTestServer
from uidt.testing.smalldisk import small_tmpfs
from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.download import download
from uidt.transfers.partfile import checkpoint_path, part_path

KiB = 1024
PATH = "/matrix/file.bin"
SIZE = 200 * KiB
DATA = os.urandom(SIZE)
OTHER = os.urandom(SIZE)

Expect = bytes | type[TransferError]
"""What a case must end with: these exact bytes at the destination, or this error and none."""
Prepare = Callable[[TransferTestServer, Path], Awaitable[Expect]]


@dataclass(frozen=True)
class Case:
    name: str
    prepare: Prepare
    options: dict[str, Any] = field(default_factory=dict)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- setups ----------------------------------------------------------------------------------
def _faults(expect: Expect = DATA, **faults: Any) -> Prepare:
    async def prepare(server: TransferTestServer, dest: Path) -> Expect:
        server.add_file(PATH, DATA)
        server.set_faults(PATH, Faults(**faults))
        return expect

    return prepare


def _changes_on_resume(new: bytes, **faults: Any) -> Prepare:
    """The file is replaced by ``new`` just before the first resume request is answered."""

    async def prepare(server: TransferTestServer, dest: Path) -> Expect:
        server.add_file(PATH, DATA)
        server.set_faults(PATH, Faults(truncate_after=120 * KiB, times=1, **faults))

        def hook(record: RequestRecord) -> None:
            if record.range is not None:
                server.change_file(PATH, new)
                server.on_request = None

        server.on_request = hook
        return new

    return prepare


async def _changes_every_time(server: TransferTestServer, dest: Path) -> Expect:
    server.add_file(PATH, DATA)
    server.set_faults(PATH, Faults(truncate_after=120 * KiB))

    def hook(record: RequestRecord) -> None:
        if record.range is not None:
            server.change_file(PATH, os.urandom(SIZE))

    server.on_request = hook
    return ResourceChangedError


async def _redirect_loop(server: TransferTestServer, dest: Path) -> Expect:
    server.set_faults(PATH, Faults(redirect_to=PATH))
    return RemoteError


async def _redirected(server: TransferTestServer, dest: Path) -> Expect:
    server.add_file("/matrix/real.bin", DATA)
    server.set_faults(PATH, Faults(redirect_to="/matrix/real.bin"))
    return DATA


async def _missing(server: TransferTestServer, dest: Path) -> Expect:
    return RemoteError


async def _silent_once(server: TransferTestServer, dest: Path) -> Expect:
    server.add_file(PATH, DATA)
    server.pause(PATH)

    def hook(record: RequestRecord) -> None:
        if len(server.requests) == 2:
            server.unpause(PATH)

    server.on_request = hook
    return DATA


def _left_behind(damage: Callable[[Path], None], expect: Expect = DATA) -> Prepare:
    """A part file and checkpoint of an earlier run of the same URL, then damaged."""

    async def prepare(server: TransferTestServer, dest: Path) -> Expect:
        server.add_file(PATH, DATA)
        offset = 100 * KiB
        part_path(dest).write_bytes(DATA[:offset])
        Checkpoint(checkpoint_path(dest)).save(
            {
                "version": 2,
                "kind": "download",
                "url": server.url(PATH),
                "etag": server.etag(PATH),
                "last_modified": None,
                "total": SIZE,
                "offset": offset,
                "sha256_prefix": _sha(DATA[:offset]),
                "boot_id": None,
                "durable_offset": offset,
                "sha256_durable": _sha(DATA[:offset]),
            }
        )
        damage(dest)
        return expect

    return prepare


def _left_unvalidated(served: bytes) -> Prepare:
    """An earlier run against a server without validators; the server now serves ``served``."""

    async def prepare(server: TransferTestServer, dest: Path) -> Expect:
        server.add_file(PATH, served)
        server.set_faults(PATH, Faults(no_etag=True, no_last_modified=True))
        offset = 100 * KiB
        part_path(dest).write_bytes(DATA[:offset])
        Checkpoint(checkpoint_path(dest)).save(
            {
                "version": 2,
                "kind": "download",
                "url": server.url(PATH),
                "etag": None,
                "last_modified": None,
                "total": SIZE,
                "offset": offset,
                "sha256_prefix": None,
                "boot_id": None,
                "durable_offset": offset,
                "sha256_durable": None,
            }
        )
        return served

    return prepare


def _garbage_sidecar(dest: Path) -> None:
    checkpoint_path(dest).write_bytes(b"\x00{not json")


def _sidecar_of_a_list(dest: Path) -> None:
    checkpoint_path(dest).write_text("[1, 2, 3]")


def _sidecar_past_the_part(dest: Path) -> None:
    state = Checkpoint(checkpoint_path(dest)).load()
    assert state is not None
    Checkpoint(checkpoint_path(dest)).save({**state, "offset": 150 * KiB})


def _sidecar_with_a_bad_offset(dest: Path) -> None:
    state = Checkpoint(checkpoint_path(dest)).load()
    assert state is not None
    Checkpoint(checkpoint_path(dest)).save({**state, "offset": "lots"})


def _sidecar_of_another_url(dest: Path) -> None:
    state = Checkpoint(checkpoint_path(dest)).load()
    assert state is not None
    Checkpoint(checkpoint_path(dest)).save({**state, "url": "http://127.0.0.1:1/other"})


def _part_with_garbage(dest: Path) -> None:
    with open(part_path(dest), "r+b") as handle:
        handle.write(b"garbage")


def _part_longer_than_named(dest: Path) -> None:
    with open(part_path(dest), "ab") as handle:
        handle.write(b"trailing bytes no checkpoint names")


def _part_missing(dest: Path) -> None:
    part_path(dest).unlink()


def _part_is_a_directory(dest: Path) -> None:
    part_path(dest).unlink()
    part_path(dest).mkdir()


CASES = [
    # resets and truncation at several offsets, a few times each
    *(
        Case(f"reset-at-{at}", _faults(reset_after=at, times=2))
        for at in (0, 1, 64 * KiB, SIZE - 1)
    ),
    *(
        Case(f"truncated-at-{at}", _faults(truncate_after=at, times=2))
        for at in (0, 1, 100 * KiB, SIZE - 1)
    ),
    Case("chunked-and-truncated", _faults(no_length=True, truncate_after=100 * KiB, times=1)),
    Case("silent-server-once", _silent_once, {"read_timeout": 0.3}),
    # statuses
    *(Case(f"{status}-burst", _faults(status=status, times=3)) for status in (500, 502, 503, 504)),
    Case("429-retry-after", _faults(status=429, retry_after="3", times=2)),
    Case(
        "503-retry-after-date",
        _faults(status=503, retry_after="Thu, 01 Jan 2026 00:00:00 GMT", times=1),
    ),
    # a run ends asking to be run again later (the service reschedules it), not failed
    Case("503-forever", _faults(RetryLaterError, status=503)),
    *(Case(f"{status}", _faults(RemoteError, status=status)) for status in (403, 404, 410)),
    Case("404-no-file", _missing),
    Case("redirect-loop", _redirect_loop),
    Case("redirect", _redirected),
    # servers that cannot resume, or lie
    Case("ignored-range", _faults(no_ranges=True, reset_after=100 * KiB, times=1)),
    Case(
        "ignored-range-always-cut",
        _faults(InconsistentServerError, no_ranges=True, reset_after=100 * KiB),
    ),
    Case("length-larger-than-body-once", _faults(overstate_length=1000, times=1)),
    Case("length-larger-than-body", _faults(InconsistentServerError, overstate_length=1000)),
    Case(
        "dripping-server",
        _faults(RetryLaterError, drip_bps=50, drip_chunk=1),  # the lowest-speed rule: transient
        {"lowest_speed": KiB, "lowest_speed_seconds": 0.3},
    ),
    # validators: the file changes between two attempts of one run
    Case("etag-change-with-if-range", _changes_on_resume(OTHER)),
    Case("etag-change-if-range-ignored", _changes_on_resume(OTHER, ignore_if_range=True)),
    Case(
        "last-modified-only-if-range-ignored",
        _changes_on_resume(OTHER, no_etag=True, ignore_if_range=True),
    ),
    Case(
        "no-validators-size-changed",
        _changes_on_resume(OTHER + b"more", no_etag=True, no_last_modified=True),
    ),
    Case(
        "no-validators-same-size-changed",
        _changes_on_resume(OTHER, no_etag=True, no_last_modified=True),
    ),
    Case(
        "no-validators-unchanged",
        _changes_on_resume(DATA, no_etag=True, no_last_modified=True),
    ),
    Case(
        "no-validators-changed-sha256",
        _changes_on_resume(OTHER, no_etag=True, no_last_modified=True),
        {"sha256": _sha(OTHER)},
    ),
    Case(
        "no-validators-unchanged-sha256",
        _changes_on_resume(DATA, no_etag=True, no_last_modified=True),
        {"sha256": _sha(DATA)},
    ),
    Case("no-validators-changed-between-runs", _left_unvalidated(OTHER)),
    Case("no-validators-unchanged-between-runs", _left_unvalidated(DATA)),
    Case("changes-on-every-try", _changes_every_time),
    # what an earlier run left at the destination, damaged
    Case("sidecar-garbage", _left_behind(_garbage_sidecar)),
    Case("sidecar-not-an-object", _left_behind(_sidecar_of_a_list)),
    Case("sidecar-offset-past-the-part", _left_behind(_sidecar_past_the_part)),
    Case("sidecar-offset-not-a-number", _left_behind(_sidecar_with_a_bad_offset)),
    Case("sidecar-of-another-url", _left_behind(_sidecar_of_another_url)),
    Case("part-overwritten-sha256", _left_behind(_part_with_garbage), {"sha256": _sha(DATA)}),
    Case("part-longer-than-named", _left_behind(_part_longer_than_named)),
    Case("part-missing", _left_behind(_part_missing)),
    Case("part-is-a-directory", _left_behind(_part_is_a_directory, TransferError)),
    Case("wrong-sha256", _faults(TransferError), {"sha256": "0" * 64}),
]


def check_outcome(dest: Path, expect: Expect, outcome: BaseException | None) -> None:
    """Byte-exact with nothing left over, or a clear error and no file at the destination."""
    if isinstance(expect, bytes):
        assert outcome is None, f"failed: {outcome!r}"
        assert dest.read_bytes() == expect
        assert not part_path(dest).exists()
        assert not checkpoint_path(dest).exists()
    else:
        assert isinstance(outcome, expect), f"expected {expect.__name__}, got {outcome!r}"
        # a permanent error must not read "retry later" (the service would reschedule it)
        assert isinstance(outcome, RetryLaterError) == issubclass(expect, RetryLaterError)
        assert str(outcome).strip()
        assert not dest.exists()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_fault(
    server: TransferTestServer,
    tmp_path: Path,
    no_wait: RecordingSleep,
    reader_options: dict[str, Any],
    case: Case,
) -> None:
    dest = tmp_path / "out.bin"
    expect = await case.prepare(server, dest)
    outcome: BaseException | None = None
    try:
        await asyncio.wait_for(
            download(
                server.url(PATH), dest, sleep=no_wait, **reader_options, retries=3, **case.options
            ),
            20,
        )
    except TransferError as exc:
        outcome = exc
    check_outcome(dest, expect, outcome)


# -- the disk fills up (a real small tmpfs) --------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 128 KiB tmpfs (root only; skipped otherwise), unmounted afterwards."""
    with small_tmpfs(tmp_path, "128k") as mount_point:
        yield mount_point


@pytest.mark.parametrize("chunked", [False, True], ids=["known-length", "chunked"])
async def test_disk_full(
    server: TransferTestServer,
    small_disk: Path,
    no_wait: RecordingSleep,
    reader_options: dict[str, Any],
    chunked: bool,
) -> None:
    server.add_file(PATH, DATA)
    server.set_faults(PATH, Faults(no_length=chunked))
    dest = small_disk / "out.bin"
    outcome: BaseException | None = None
    try:
        await download(server.url(PATH), dest, sleep=no_wait, **reader_options)
    except TransferError as exc:
        outcome = exc
    check_outcome(dest, NoSpaceError, outcome)


# -- two writers of one destination ----------------------------------------------------------
async def test_two_runs_of_one_download_at_once(
    server: TransferTestServer,
    tmp_path: Path,
    no_wait: RecordingSleep,
    reader_options: dict[str, Any],
) -> None:
    server.add_file(PATH, DATA)
    server.set_faults(PATH, Faults(drip_bps=2 * 1024 * KiB))
    dest = tmp_path / "out.bin"
    run = functools.partial(
        download, server.url(PATH), dest, sleep=no_wait, **reader_options, retries=3
    )
    outcomes = await asyncio.gather(run(), run(), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, TransferError), repr(outcome)
            assert str(outcome).strip()
    assert any(not isinstance(outcome, BaseException) for outcome in outcomes)
    assert dest.read_bytes() == DATA


async def test_two_downloads_of_different_files_to_one_destination(
    server: TransferTestServer,
    tmp_path: Path,
    no_wait: RecordingSleep,
    reader_options: dict[str, Any],
) -> None:
    server.add_file(PATH, DATA)
    server.add_file("/matrix/other.bin", OTHER)
    server.set_faults(PATH, Faults(drip_bps=2 * 1024 * KiB))
    server.set_faults("/matrix/other.bin", Faults(drip_bps=2 * 1024 * KiB))
    dest = tmp_path / "out.bin"
    outcomes = await asyncio.gather(
        download(server.url(PATH), dest, sleep=no_wait, **reader_options),
        download(server.url("/matrix/other.bin"), dest, sleep=no_wait, **reader_options),
        return_exceptions=True,
    )
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    # The part file's lock lets one writer in; the other is refused with a clear reason.
    assert len(failures) == 1, outcomes
    assert isinstance(failures[0], DestinationBusyError), repr(failures[0])
    assert "another transfer is writing" in str(failures[0])
    assert dest.read_bytes() in (DATA, OTHER)  # one of them, never a mix
