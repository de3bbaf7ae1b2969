"""Cold start: ``uidt download --wait`` with no daemon autostarts one that prestarts the worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.jobs import TRANSFERS_APP

from .conftest import Daemon, clean_env, reap, stop_autostarted_daemon, wait_for

DATA = os.urandom(1024)


def _transfer_workers(daemon_pid: int) -> list[psutil.Process]:
    found = []
    for child in psutil.Process(daemon_pid).children():
        try:
            line = child.cmdline()
            if "uidt.host.worker" in line and line[line.index("--app") + 1] == TRANSFERS_APP:
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_a_cold_download_runs_in_the_worker_the_daemon_prestarted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    dest = tmp_path / "file.bin"
    with ThreadedTransferTestServer() as server:
        server.add_file("/file.bin", DATA)
        command = [sys.executable, "-m", "uidt", "--home", str(home), "download"]
        command += [server.url("/file.bin"), "-o", str(dest), "--wait"]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
            check=False,
        )
    pid_file = home / "daemon.pid"
    try:
        assert done.returncode == 0, done.stderr
        # Started once, by the command line's early start (uidt.cli.launch), not twice.
        assert done.stderr.count("uidt: started the daemon (pid ") == 1
        assert dest.read_bytes() == DATA
        daemon_pid = int(pid_file.read_text())
        log = (home / "logs" / "daemon.log").read_text()
        assert f"prestarted the worker of {TRANSFERS_APP}" in log
        marker = f"prestarted the worker of {TRANSFERS_APP} (pid "
        prestarted_pid = int(log.split(marker, 1)[1].split(")", 1)[0])
        # The job ran in that worker: it is still the only one (idle until its timeout).
        assert [p.pid for p in _transfer_workers(daemon_pid)] == [prestarted_pid]
        # ... and logged what it did, with its own time (INFO reaches the worker log).
        worker_log = (home / "logs" / f"worker-{TRANSFERS_APP}.log").read_text()
        assert f"downloaded {server.url('/file.bin')} to {dest} in " in worker_log
    finally:
        stop_autostarted_daemon(home)


def test_the_jobs_list_carries_a_version_and_a_stale_one_is_answered_at_once(
    daemon: Daemon,
) -> None:
    version = daemon.api("GET", "/v1/jobs")["version"]
    assert isinstance(version, int)
    assert version > 0  # loading the store already flushed once
    stale = daemon.api("GET", "/v1/jobs", since=version - 1, wait_ms=2000)
    assert stale["version"] >= version
    with pytest.raises(ValueError, match="bad request"):  # not a number: a 400, not a hang
        daemon.api("GET", "/v1/jobs", since="soon", wait_ms=10)
    with pytest.raises(ValueError, match="bad request"):
        daemon.api("GET", "/v1/jobs", job_id="seven")
    assert daemon.api("GET", "/v1/jobs", all=1, job_id=2**31 + 5)["jobs"] == []
    with pytest.raises(ValueError, match="while_state needs a job_id"):
        daemon.api("GET", "/v1/jobs", since=version - 1, wait_ms=10, while_state="active")
    # no such job, so not "active": a stale version is answered at once, as without it
    moved = daemon.api(
        "GET", "/v1/jobs", since=version - 1, wait_ms=2000, job_id=5, while_state="active"
    )
    assert moved["jobs"] == []


def test_two_cold_downloads_started_at_once_share_one_daemon(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with ThreadedTransferTestServer() as server:
        server.add_file("/file.bin", DATA)
        url = server.url("/file.bin")
        start = [sys.executable, "-m", "uidt", "--home", str(home), "download", url]
        commands = [[*start, "-o", str(tmp_path / f"copy{n}.bin"), "--wait"] for n in (1, 2)]
        # Both find no daemon and start one; one of those loses the home's lock and exits,
        # and its command waits for the winner instead of failing.
        running = [
            subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=clean_env(),
            )
            for command in commands
        ]
        try:
            results = [process.communicate(timeout=60) for process in running]
        finally:
            for process in running:
                reap(process)
            stop_autostarted_daemon(home)
    for process, (_, stderr) in zip(running, results, strict=True):
        assert process.returncode == 0, stderr
    assert (tmp_path / "copy1.bin").read_bytes() == DATA
    assert (tmp_path / "copy2.bin").read_bytes() == DATA


@pytest.mark.slow  # about 4 s: two daemon starts and a throttled download
def test_a_daemon_killed_mid_download_comes_back_with_the_worker_prestarted(
    tmp_path: Path,
) -> None:
    """After ``kill -9`` the next daemon starts the transfers worker before it loads its core,
    and the persisted download resumes in that worker, byte-exact (the restart path of
    ``uidt.daemon.main.workers_to_prestart``)."""
    home, dest = tmp_path / "home", tmp_path / "big.bin"
    home.mkdir()
    data = os.urandom(3 * 1024 * 1024 + 7)
    with ThreadedTransferTestServer() as server:
        server.add_file("/big.bin", data)
        server.throttle("/big.bin", 1024 * 1024)
        # Without the warm worker, so that the one prestarted worker is the restart's own.
        first = Daemon(home, {"warm_worker": "false"}).start()
        try:
            scheduled = first.uidt("download", server.url("/big.bin"), "-o", str(dest))
            assert scheduled.returncode == 0, scheduled.stderr
            wait_for(lambda: server.bytes_sent("/big.bin") > 256 * 1024, what="bytes to flow")
        finally:
            first.kill9()
        assert not dest.exists()
        server.throttle("/big.bin", None)
        second = Daemon(home).start()
        try:
            wait_for(dest.exists, what="the resumed download to complete")
            assert dest.read_bytes() == data
            log = (home / "logs" / "daemon.log").read_text()
            marker = f"prestarted the worker of {TRANSFERS_APP} (pid "
            assert log.count(marker) == 1  # the second daemon's, not the first one's
            prestarted_pid = int(log.split(marker, 1)[1].split(")", 1)[0])
            assert [p.pid for p in second.worker_processes(TRANSFERS_APP)] == [prestarted_pid]
            resumed = [r.range for r in server.server.requests if r.path == "/big.bin" and r.range]
            assert resumed, "the download started again from zero"
        finally:
            second.stop()
