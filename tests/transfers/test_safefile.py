"""Files at the destination that are not safely the user's: links, open modes, hard links, a
second writer, damaged checkpoints and part files. Each ends byte-exact, or with a clear error
and no file at the destination."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from uidt.errors import DestinationBusyError, TransferError, UnsafeFileError
from uidt.testing.clock import FakeClock
from uidt.testing.httpserver import Faults, RecordingSleep, TransferTestServer
from uidt.transfers.checkpoint import Checkpoint, UntrustedCheckpoint
from uidt.transfers.download import download
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import PartFile, checkpoint_path, part_path
from uidt.transfers.retry import RetryPolicy
from uidt.transfers.safefile import PartLock, lock_holder, mode_for_umask, untrusted_reason

PATH = "/file.bin"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_planted_part_link_is_not_written_through(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    dest = tmp_path / "file.bin"
    part_path(dest).symlink_to(victim)
    got = await download(server.url(PATH), dest)
    assert victim.read_bytes() == b"precious"
    assert dest.read_bytes() == payload
    assert Notice.RESTARTED_UNTRUSTED_FILES in got.notices
    assert not part_path(dest).exists()
    assert not part_path(dest).is_symlink()


async def test_a_planted_checkpoint_link_is_not_written_through(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    dest = tmp_path / "file.bin"
    checkpoint_path(dest).symlink_to(victim)
    got = await download(server.url(PATH), dest)
    assert victim.read_bytes() == b"precious"
    assert dest.read_bytes() == payload
    assert Notice.RESTARTED_UNTRUSTED_FILES in got.notices


async def test_a_planted_link_at_the_final_name_is_replaced_not_followed(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    dest = tmp_path / "file.bin"
    dest.symlink_to(victim)
    await download(server.url(PATH), dest)
    assert victim.read_bytes() == b"precious"
    assert not dest.is_symlink()
    assert dest.read_bytes() == payload


async def test_checkpoint_temporary_names_cannot_be_planted(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    state = Checkpoint(tmp_path / "x.uidt")
    # The name the old code used: pid-based, guessable by anyone.
    (tmp_path / f".x.uidt.{os.getpid()}.tmp").symlink_to(victim)
    state.save({"offset": 1})
    assert victim.read_bytes() == b"precious"
    assert state.load() == {"offset": 1}
    assert _mode(state.path) == 0o600


@pytest.mark.parametrize("damage", ["group-writable", "world-writable", "hard-link"])
async def test_a_part_file_others_could_have_written_is_not_resumed(
    server: TransferTestServer, payload: bytes, tmp_path: Path, damage: str
) -> None:
    server.add_file(PATH, payload)
    dest = tmp_path / "file.bin"
    url = server.url(PATH)
    half = len(payload) // 2
    _plant_partial(dest, url, b"\0" * half)  # wrong bytes a checkpoint says are right
    part = part_path(dest)
    if damage == "group-writable":
        part.chmod(0o660)
    elif damage == "world-writable":
        part.chmod(0o646)
    else:
        os.link(part, tmp_path / "other-name")
    got = await download(url, dest)
    assert dest.read_bytes() == payload
    assert got.resumed_from == 0
    assert Notice.RESTARTED_UNTRUSTED_FILES in got.notices


async def test_a_checkpoint_others_could_have_written_is_not_trusted(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    dest = tmp_path / "file.bin"
    url = server.url(PATH)
    _plant_partial(dest, url, b"\0" * 1000)
    checkpoint_path(dest).chmod(0o666)
    got = await download(url, dest)
    assert dest.read_bytes() == payload
    assert got.resumed_from == 0
    assert Notice.RESTARTED_UNTRUSTED_FILES in got.notices


async def test_the_users_own_private_partial_is_resumed(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    dest = tmp_path / "file.bin"
    url = server.url(PATH)
    _plant_partial(dest, url, payload[:1000])
    got = await download(url, dest)
    assert got.resumed_from == 1000
    assert dest.read_bytes() == payload


async def test_an_untrusted_part_that_cannot_be_removed_is_a_clear_error(
    server: TransferTestServer, payload: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add_file(PATH, payload)
    dest = tmp_path / "file.bin"
    part_path(dest).symlink_to(tmp_path / "elsewhere")
    real_unlink = Path.unlink

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if self == part_path(dest):
            raise PermissionError(1, "Operation not permitted")
        real_unlink(self, missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(UnsafeFileError, match="symbolic link and cannot be removed"):
        await download(server.url(PATH), dest)
    assert not dest.exists()
    assert not (tmp_path / "elsewhere").exists()


async def test_a_second_writer_in_the_same_process_is_refused_with_the_pid(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    dest = tmp_path / "file.bin"
    first = PartFile(dest, server.url(PATH), hashing=False, clock=FakeClock())
    first.lock()
    try:
        with pytest.raises(
            DestinationBusyError, match=rf"writing .*file.bin \(pid {os.getpid()}\)"
        ):
            await download(server.url(PATH), dest)
        assert not dest.exists()
    finally:
        first.release()
    await download(server.url(PATH), dest)  # the lock is gone with its holder
    assert dest.read_bytes() == payload


def test_lock_holder_names_the_process(tmp_path: Path) -> None:
    lock = PartLock(tmp_path / "x.part", tmp_path / "x")
    lock.acquire()
    try:
        assert lock.fd is not None
        assert lock_holder(lock.fd) == os.getpid()
    finally:
        lock.release()
    assert not (tmp_path / "x.part").exists()  # created empty, removed on release


async def test_part_and_checkpoint_are_private_and_the_file_gets_the_callers_mode(
    server: TransferTestServer, payload: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add_file(PATH, payload)
    dest = tmp_path / "file.bin"
    part_modes: set[int] = set()
    checkpoint_modes: set[int] = set()
    save = Checkpoint.save

    def save_and_look(self: Checkpoint, state: dict[str, object], *, sync: bool = True) -> None:
        save(self, state, sync=sync)  # on the part file's I/O thread, not before the first byte
        checkpoint_modes.add(_mode(checkpoint_path(dest)))

    def on_progress(_: object) -> None:
        if part_path(dest).exists():
            part_modes.add(_mode(part_path(dest)))

    monkeypatch.setattr(Checkpoint, "save", save_and_look)
    await download(server.url(PATH), dest, mode=0o640, on_progress=on_progress, raw_http=False)
    assert part_modes == {0o600}
    assert checkpoint_modes == {0o600}
    assert _mode(dest) == 0o640


async def test_the_default_mode_follows_the_process_umask(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    old = os.umask(0o027)
    try:
        await download(server.url(PATH), tmp_path / "a.bin")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a.bin") == mode_for_umask(0o027) == 0o640


def test_untrusted_reason_names_the_problem(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.write_bytes(b"x")
    mine.chmod(0o600)
    assert untrusted_reason(os.lstat(mine)) is None
    mine.chmod(0o620)
    assert "written by other users (mode 0620)" in str(untrusted_reason(os.lstat(mine)))
    (tmp_path / "link").symlink_to(mine)
    assert untrusted_reason(os.lstat(tmp_path / "link")) == "is a symbolic link"
    assert untrusted_reason(os.lstat(tmp_path)) == "is not a regular file"


def test_load_owner_only_refuses_an_open_checkpoint(tmp_path: Path) -> None:
    state = Checkpoint(tmp_path / "x.uidt")
    state.save({"offset": 1})
    state.path.chmod(0o666)
    assert state.load() == {"offset": 1}  # apps' own checkpoints: unchanged
    with pytest.raises(UntrustedCheckpoint, match="written by other users"):
        state.load(owner_only=True)


# -- damaged files: byte-exact, or a clear error and nothing at the destination ---------------

DAMAGES = [
    "checkpoint-garbage",
    "checkpoint-truncated-json",
    "checkpoint-a-list",
    "checkpoint-a-directory",
    "checkpoint-offset-past-the-part",
    "checkpoint-negative-offset",
    "checkpoint-wrong-digest",
    "part-a-directory",
    "part-a-fifo",
    "part-longer-than-checkpoint",
    "part-missing",
]


@pytest.mark.parametrize("damage", DAMAGES)
async def test_damaged_partial_files(
    server: TransferTestServer, payload: bytes, tmp_path: Path, damage: str
) -> None:
    server.add_file(PATH, payload)
    dest = tmp_path / "file.bin"
    url = server.url(PATH)
    _plant_partial(dest, url, payload[:5000], sha256=True)
    part, check = part_path(dest), checkpoint_path(dest)
    state = json.loads(check.read_text())
    if damage == "checkpoint-garbage":
        check.write_bytes(b"\x00\xffnot json")
    elif damage == "checkpoint-truncated-json":
        check.write_text(json.dumps(state)[:40])
    elif damage == "checkpoint-a-list":
        check.write_text("[1, 2]")
    elif damage == "checkpoint-a-directory":
        check.unlink()
        check.mkdir()
    elif damage == "checkpoint-offset-past-the-part":
        check.write_text(json.dumps(state | {"offset": 10**9, "durable_offset": 10**9}))
    elif damage == "checkpoint-negative-offset":
        check.write_text(json.dumps(state | {"offset": -5, "durable_offset": -5}))
    elif damage == "checkpoint-wrong-digest":
        check.write_text(
            json.dumps(state | {"sha256_prefix": "0" * 64, "sha256_durable": "0" * 64})
        )
    elif damage == "part-a-directory":
        part.unlink()
        part.mkdir()
    elif damage == "part-a-fifo":
        part.unlink()
        os.mkfifo(part)
    elif damage == "part-longer-than-checkpoint":
        with part.open("ab") as handle:
            handle.write(b"junk" * 100)
    elif damage == "part-missing":
        part.unlink()
    for path in (part, check):
        if path.exists() and not path.is_dir():
            path.chmod(0o600)
    expected = _sha256(payload)
    failure: TransferError | None = None
    try:
        await download(url, dest, sha256=expected)
    except TransferError as exc:
        failure = exc
    if failure is not None:
        assert str(failure)  # a clear message
        assert not dest.exists()
    else:
        assert dest.read_bytes() == payload


def _plant_partial(dest: Path, url: str, data: bytes, *, sha256: bool = False) -> None:
    """A part file of ``data`` and a checkpoint naming it, as an earlier run leaves them."""
    part_path(dest).write_bytes(data)
    part_path(dest).chmod(0o600)
    digest = _sha256(data) if sha256 else None
    Checkpoint(checkpoint_path(dest)).save(
        {
            "version": 2,
            "kind": "download",
            "url": url,
            "etag": None,
            "last_modified": None,
            "total": None,
            "offset": len(data),
            "sha256_prefix": digest,
            "boot_id": None,
            "durable_offset": len(data),
            "sha256_durable": digest,
        }
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_a_readable_partial_of_the_users_own_is_resumed_and_made_private(
    server: TransferTestServer, payload: bytes, tmp_path: Path
) -> None:
    server.add_file(PATH, payload)
    dest = tmp_path / "file.bin"
    url = server.url(PATH)
    _plant_partial(dest, url, payload[:1000])
    part_path(dest).chmod(0o644)  # as an older uidt left it
    seen: list[int] = []

    def on_progress(_: object) -> None:
        if part_path(dest).exists():
            seen.append(_mode(part_path(dest)))

    got = await download(url, dest, raw_http=False, on_progress=on_progress)
    assert got.resumed_from == 1000
    assert set(seen) == {0o600}
    assert dest.read_bytes() == payload


async def test_a_run_that_fails_before_its_first_byte_leaves_nothing(
    server: TransferTestServer, payload: bytes, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    """Every attempt is reset before its first byte; the run gives up and leaves nothing.

    (A reset is a link error: ``retries=0`` does not stop its retries, about 60 of a second
    each; they are kept, but not waited for, which made this test last a minute.)
    """
    server.add_file(PATH, payload)
    server.set_faults(PATH, Faults(reset_after=0))
    with pytest.raises(TransferError):
        await download(server.url(PATH), tmp_path / "file.bin", retries=0, sleep=no_wait)
    assert len(no_wait.delays) == RetryPolicy().link_retries  # every link retry was made
    assert os.listdir(tmp_path) == []
