"""Attacks by a real second local user (``useradd``) on a download's folder.

Each attack runs in a sticky world-writable folder (like ``/tmp``) and in a folder the user owns
but others may write (mode 0777). Every run must end byte-exact at the destination, with no
byte written anywhere else, or with a clear error and no file at the destination. Skipped
where users cannot be created (not root, or no ``useradd``).
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from uidt.errors import UnsafeFileError
from uidt.testing.httpserver import TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.notices import Notice
from uidt.transfers.partfile import checkpoint_path, part_path
from uidt.transfers.safefile import lock_holder

PATH = "/file.bin"
DEADLINE_S = 20.0
FOLDERS = {"sticky": 0o1777, "open": 0o777}


@dataclass(frozen=True)
class Attacker:
    name: str
    uid: int
    gid: int

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """Run ``command`` as this user (no shell of the victim's, no extra groups)."""
        return subprocess.run(
            command,
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            check=check,
            capture_output=True,
            env={"PATH": "/usr/bin:/bin"},
        )

    def sh(self, script: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return self.run("/bin/sh", "-c", script, check=check)


@pytest.fixture(scope="module")
def attacker() -> Iterator[Attacker]:
    useradd = shutil.which("useradd")
    if os.geteuid() != 0 or useradd is None:
        pytest.skip("attack tests need root and useradd to create a second user")
    name = f"uidtatk{os.getpid()}"
    made = subprocess.run([useradd, "-M", "-N", "-s", "/usr/sbin/nologin", name], check=False)
    if made.returncode != 0:
        pytest.skip("useradd is not permitted here")
    try:
        entry = pwd.getpwnam(name)
        yield Attacker(name, entry.pw_uid, entry.pw_gid)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture
def base() -> Iterator[Path]:
    """A folder every user can reach (pytest's own tmp folders are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="uidt-attack-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=sorted(FOLDERS))
def folder(request: pytest.FixtureRequest, base: Path) -> Path:
    path = base / str(request.param)
    path.mkdir()
    path.chmod(FOLDERS[str(request.param)])
    return path


@pytest.fixture
def victim(base: Path) -> Path:
    """A file of the user's that the attacker wants written."""
    path = base / "victim-file"
    path.write_bytes(b"precious")
    return path


async def test_planted_partial_and_checkpoint_are_not_adopted(
    server: TransferTestServer, payload: bytes, attacker: Attacker, folder: Path
) -> None:
    server.add_file(PATH, payload)
    dest = folder / "file.bin"
    url = server.url(PATH)
    half = len(payload) // 2
    state = json.dumps(
        {"version": 2, "kind": "download", "url": url, "offset": half, "durable_offset": half}
    )
    attacker.sh(
        f"head -c {half} /dev/zero > '{part_path(dest)}' && printf '%s' '{state}' > "
        f"'{checkpoint_path(dest)}'"
    )
    got = await download(url, dest)
    assert dest.read_bytes() == payload
    assert got.resumed_from == 0
    assert Notice.RESTARTED_UNTRUSTED_FILES in got.notices


@pytest.mark.parametrize("name", ["part", "checkpoint", "final"])
async def test_planted_links_are_never_written_through(
    server: TransferTestServer,
    payload: bytes,
    attacker: Attacker,
    folder: Path,
    victim: Path,
    name: str,
) -> None:
    server.add_file(PATH, payload)
    dest = folder / "file.bin"
    planted = {"part": part_path(dest), "checkpoint": checkpoint_path(dest), "final": dest}[name]
    attacker.run("ln", "-s", str(victim), str(planted))
    await download(server.url(PATH), dest)
    _check_untouched(victim, dest, payload)


def _check_untouched(victim: Path, dest: Path, payload: bytes) -> None:
    assert victim.read_bytes() == b"precious"
    assert not dest.is_symlink()
    assert dest.read_bytes() == payload


async def test_a_planted_fifo_neither_hangs_nor_is_used(
    server: TransferTestServer, payload: bytes, attacker: Attacker, folder: Path
) -> None:
    server.add_file(PATH, payload)
    dest = folder / "file.bin"
    attacker.run("mkfifo", "-m", "666", str(part_path(dest)))
    got = await asyncio.wait_for(download(server.url(PATH), dest), DEADLINE_S)
    assert dest.read_bytes() == payload
    assert Notice.RESTARTED_UNTRUSTED_FILES in got.notices


async def test_a_part_file_swapped_during_the_download_is_not_published(
    server: TransferTestServer, payload: bytes, attacker: Attacker, folder: Path
) -> None:
    """The attacker renames the part file away and puts their own in its place mid-download.

    In the sticky folder the kernel refuses the rename (the download completes untouched); in
    the open folder it succeeds, and the engine notices before publishing.
    """
    server.add_file(PATH, payload)
    server.pause(PATH)
    dest = folder / "file.bin"
    part = part_path(dest)
    task = asyncio.get_running_loop().create_task(download(server.url(PATH), dest))
    try:
        await _wait_until_locked(part)
        swap = attacker.sh(f"mv '{part}' '{part}.gone' && printf evil > '{part}'", check=False)
    finally:
        server.unpause(PATH)
    if folder.name == "sticky":  # the sticky bit protects the file: the rename is refused
        assert swap.returncode != 0
        await asyncio.wait_for(task, DEADLINE_S)
        assert dest.read_bytes() == payload
        return
    assert swap.returncode == 0, swap.stderr
    with pytest.raises(UnsafeFileError, match="replaced by someone else"):
        await asyncio.wait_for(task, DEADLINE_S)
    assert not dest.exists()
    assert part.read_bytes() == b"evil"  # the attacker's file, left as it was


async def _wait_until_locked(part: Path) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while True:
        try:
            fd = os.open(part, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            fd = None
        if fd is not None:
            try:
                if lock_holder(fd) == os.getpid():
                    return
            finally:
                os.close(fd)
        assert loop.time() < deadline, "the download never locked its part file"
        await asyncio.sleep(0.01)
