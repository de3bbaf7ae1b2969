"""``uidt download URL… --wait`` (a batch) keeps following its files when the daemon is killed
and comes back, as the single-job ``--wait`` does (``test_wait_across_restart.py``): the
persisted jobs go on under the next daemon and complete, so the exit status is 0.

The restart is a service manager's: the old daemon is awaited until it is gone (its workers
too), then one is started — unless the command under test started one meanwhile (its grace for
a daemon to come back passed first), which is then the one it talks to. No daemon outlives the
test, whichever started it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.home.paths import resolve_paths
from uidt.testing.httpserver import ThreadedTransferTestServer

from .conftest import (
    Daemon,
    clean_env,
    reap,
    running_daemon,
    running_transfers,
    stop_autostarted_daemon,
    wait_for,
)

FIRST = os.urandom(256 * 1024 + 5)
SECOND = os.urandom(128 * 1024 + 3)
DEADLINE_S = 60.0


@pytest.fixture
def server() -> Iterator[ThreadedTransferTestServer]:
    with ThreadedTransferTestServer() as served:
        served.add_file("/first.bin", FIRST)
        served.add_file("/second.bin", SECOND)
        served.pause("/first.bin")  # the first file runs, and cannot end before the test lets it
        yield served


def _batch(home: Path, urls: list[str], folder: Path, *more: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "uidt", "--home", str(home), "download", *urls]
    return subprocess.Popen(
        [*argv, "-o", str(folder), "--wait", *more],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _answers(home: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(home), "daemon", "status"],
        capture_output=True,
        env=clean_env(),
        check=False,
        timeout=30,
    )
    return done.returncode == 0


def restart_after_kill9(daemon: Daemon) -> None:
    """``kill -9`` the daemon, wait until it (and its workers) are gone, then start one as a
    service manager would — unless a daemon already answers for the home (a command started
    one meanwhile), or one starts while this one does (it loses the home lock and exits)."""
    daemon.kill9()  # waits for the process and its workers to end
    if _answers(daemon.home):
        return
    try:
        daemon.start()
    except AssertionError:  # this start lost the home lock to a command's own start
        if not _answers(daemon.home):
            raise


def test_a_batch_wait_follows_its_files_to_their_end_across_a_daemon_kill(
    tmp_path: Path, server: ThreadedTransferTestServer
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    folder = tmp_path / "out"
    folder.mkdir()
    urls = [server.url("/first.bin"), server.url("/second.bin")]
    with running_daemon(home) as daemon:
        # -j 1: the second file is scheduled only once the first ended, under the next daemon
        waiting = _batch(home, urls, folder, "-j", "1")
        try:
            wait_for(lambda: running_transfers(daemon), DEADLINE_S, "the first file to run")
            restart_after_kill9(daemon)
            server.unpause("/first.bin")
            out, err = waiting.communicate(timeout=DEADLINE_S)
        finally:
            reap(waiting)
            stop_autostarted_daemon(home)  # the command's own daemon, if it started one
    assert waiting.returncode == 0, out + err
    assert "all 2 files finished" in err
    assert (folder / "first.bin").read_bytes() == FIRST
    assert (folder / "second.bin").read_bytes() == SECOND
    assert "lost the connection" not in err
    assert not resolve_paths(home).pid_file.exists()  # no daemon left behind


def test_a_batch_wait_stops_following_a_daemon_stopped_on_purpose(
    tmp_path: Path, server: ThreadedTransferTestServer
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    folder = tmp_path / "out"
    folder.mkdir()
    urls = [server.url("/first.bin"), server.url("/second.bin")]
    with running_daemon(home) as daemon:
        waiting = _batch(home, urls, folder, "-j", "1")
        try:
            wait_for(lambda: running_transfers(daemon), DEADLINE_S, "the first file to run")
            daemon.stop()  # SIGTERM: `uidt daemon stop`
            _out, err = waiting.communicate(timeout=DEADLINE_S)
        finally:
            reap(waiting)
            server.unpause("/first.bin")
            stop_autostarted_daemon(home)
    assert waiting.returncode == 1, err
    assert "was stopped" in err
    assert "go on when a daemon starts" in err
    assert not resolve_paths(home).pid_file.exists()  # none started behind the user's back
