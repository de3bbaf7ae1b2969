"""``uidt download --wait`` keeps following its job when the daemon is killed and comes back.

Found by the bad-day benchmark (bench/badday): a ``kill -9`` of the daemon made ``--wait``
exit 1 ("lost the connection to the uidt daemon") although the persisted job went on and
finished under the next daemon, so the command said the transfer failed when it had not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.jobs import TRANSFERS_APP

from .conftest import Daemon, clean_env, running_daemon, stop_autostarted_daemon, wait_for

DATA = os.urandom(512 * 1024 + 3)


@pytest.fixture
def server() -> Iterator[ThreadedTransferTestServer]:
    with ThreadedTransferTestServer() as served:
        served.add_file("/held.bin", DATA)
        served.pause("/held.bin")  # the job runs, and cannot end before the test lets it
        yield served


def follow(home: Path, url: str, dest: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "uidt", "--home", str(home), "download", url]
    return subprocess.Popen(
        [*argv, "-o", str(dest), "--wait"],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def running_transfer(daemon: Daemon) -> bool:
    return any(
        j["app"] == TRANSFERS_APP and j["state"] == "active"
        for j in daemon.jobs(include_ended=False)
    )


def test_wait_follows_the_job_to_its_end_across_a_daemon_kill(
    tmp_path: Path, server: ThreadedTransferTestServer
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    dest = tmp_path / "held.bin"
    with running_daemon(home) as daemon:
        waiting = follow(home, server.url("/held.bin"), dest)
        try:
            wait_for(lambda: running_transfer(daemon), what="the transfer to run")
            daemon.kill9()
            daemon.start()  # what a service manager does
            server.unpause("/held.bin")
            out, err = waiting.communicate(timeout=60)
        finally:
            if waiting.poll() is None:
                waiting.kill()
                waiting.wait()
        assert waiting.returncode == 0, out + err
        assert dest.read_bytes() == DATA
        assert "lost the connection" not in err


def test_wait_starts_a_daemon_itself_when_none_comes_back(
    tmp_path: Path, server: ThreadedTransferTestServer
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    dest = tmp_path / "held.bin"
    with running_daemon(home) as daemon:
        waiting = follow(home, server.url("/held.bin"), dest)
        try:
            wait_for(lambda: running_transfer(daemon), what="the transfer to run")
            daemon.kill9()
            server.unpause("/held.bin")
            out, err = waiting.communicate(timeout=60)
        finally:
            if waiting.poll() is None:
                waiting.kill()
                waiting.wait()
            stop_autostarted_daemon(home)
    assert waiting.returncode == 0, out + err
    assert dest.read_bytes() == DATA


def test_wait_does_not_start_again_a_daemon_that_was_stopped_on_purpose(
    tmp_path: Path, server: ThreadedTransferTestServer
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    dest = tmp_path / "held.bin"
    with running_daemon(home) as daemon:
        waiting = follow(home, server.url("/held.bin"), dest)
        try:
            wait_for(lambda: running_transfer(daemon), what="the transfer to run")
            daemon.stop()  # SIGTERM: `uidt daemon stop`
            _out, err = waiting.communicate(timeout=60)
        finally:
            if waiting.poll() is None:
                waiting.kill()
                waiting.wait()
            stop_autostarted_daemon(home)
    assert waiting.returncode == 1
    assert "was stopped" in err
    assert "goes on when a daemon starts" in err
    assert not dest.exists()
    assert not (home / "daemon.pid").exists()  # no daemon started behind the user's back
