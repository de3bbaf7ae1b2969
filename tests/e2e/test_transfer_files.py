"""Through the real daemon: the file gets the caller's umask, no password reaches what is shown
or logged, and a second daemon (another home) cannot write the same destination."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.partfile import part_path
from uidt.transfers.safefile import lock_holder

from .conftest import Daemon, clean_env, running_daemon

DATA = os.urandom(1024 * 1024 + 3)
DEADLINE_S = 30.0


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedTransferTestServer]:
    with ThreadedTransferTestServer() as served:
        served.add_file("/data.bin", DATA)
        served.add_file("/held.bin", DATA)
        yield served


def _uidt(daemon: Daemon, *args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(daemon.home), *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        env=clean_env(),
        check=False,
        umask=umask,
    )


@pytest.mark.parametrize(("umask", "mode"), [(0o077, 0o600), (0o002, 0o664)])
def test_the_file_gets_the_callers_umask_not_the_daemons(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path, umask: int, mode: int
) -> None:
    dest = tmp_path / "data.bin"
    done = _uidt(
        daemon, "download", server.url("/data.bin"), "-o", str(dest), "--wait", umask=umask
    )
    assert done.returncode == 0, done.stderr
    assert dest.read_bytes() == DATA
    assert stat.S_IMODE(dest.stat().st_mode) == mode


def test_a_password_reaches_no_log_notification_or_listing(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    url = server.url("/missing.bin").replace("http://", "http://bob:hunter2@")
    dest = tmp_path / "missing.bin"
    done = daemon.uidt("download", url, "-o", str(dest), "--wait")
    assert done.returncode == 1
    assert "404" in done.stderr
    assert "bob:***@" in done.stderr
    shown = [done.stdout, done.stderr]
    shown.append(json.dumps(daemon.uidt_json("--json", "jobs", "--all")))
    shown.append(json.dumps(daemon.uidt_json("--json", "dumpsys")))
    for log in (daemon.home / "logs").iterdir():
        shown.append(log.read_text(errors="replace"))
    for text in shown:
        assert "hunter2" not in text
    assert not dest.exists()
    store = daemon.home / "uidt.db"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600  # the URL is kept whole only here
    assert stat.S_IMODE(daemon.home.stat().st_mode) == 0o700


def test_a_second_daemon_cannot_write_the_same_destination(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "held.bin"
    server.pause("/held.bin")
    try:
        first = daemon.uidt("download", server.url("/held.bin"), "-o", str(dest))
        assert first.returncode == 0, first.stderr
        holder = _wait_for_holder(part_path(dest))
        (tmp_path / "other-home").mkdir()
        with running_daemon(tmp_path / "other-home") as other:
            second = other.uidt("download", server.url("/held.bin"), "-o", str(dest), "--wait")
        assert second.returncode == 1
        assert f"another transfer is writing {dest} (pid {holder})" in second.stderr
    finally:
        server.unpause("/held.bin")
    deadline = time.monotonic() + DEADLINE_S
    while not dest.exists():
        assert time.monotonic() < deadline, "the first download never finished"
        time.sleep(0.05)  # noqa: TID251 - polling a real daemon's worker, bounded
    assert dest.read_bytes() == DATA


def _wait_for_holder(part: Path) -> int:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            fd = os.open(part, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            holder = None
        else:
            try:
                holder = lock_holder(fd)
            finally:
                os.close(fd)
        if holder is not None:
            return holder
        assert time.monotonic() < deadline, "no worker locked the part file"
        time.sleep(0.02)  # noqa: TID251 - polling a real daemon's worker, bounded
