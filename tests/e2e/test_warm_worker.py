"""The warm transfer worker: every daemon boots the built-in transfer app's worker at its start.

So the first ``uidt download`` a freshly started daemon gets (a service manager's start, ``uidt
daemon start``, a restart) needs no process start. The worker is idle, no job's run; it is the
one the first download runs in, it dies with the daemon, and it never outlives
``worker_idle_timeout_ms``. ``warm_worker=false`` turns it off.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.jobs import TRANSFERS_APP

from .conftest import Daemon, running_daemon, wait_for

DATA = os.urandom(64 * 1024)
PRESTARTED = f"prestarted the worker of {TRANSFERS_APP} (pid "


def _prestarted_pid(home: Path) -> int:
    """The pid the daemon's log names for the worker it adopted (waits for that line)."""
    log = home / "logs" / "daemon.log"
    line = wait_for(
        lambda: PRESTARTED in log.read_text() and log.read_text(),
        what="the daemon to adopt its warm worker",
    )
    return int(line.split(PRESTARTED, 1)[1].split(")", 1)[0])


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _idled_out(daemon: Daemon) -> None:
    """Wait until the daemon's warm worker has exited after its (short) idle limit, and the
    daemon has seen it go (the process may be gone a moment before its host has read the end)."""
    pid = _prestarted_pid(daemon.home)
    log = daemon.home / "logs" / "daemon.log"
    wait_for(
        lambda: _gone(pid) and f"the worker of {TRANSFERS_APP} exited" in log.read_text(),
        what="the idle warm worker to exit",
    )


def test_a_fresh_daemon_has_its_transfer_worker_ready_and_no_job_running(
    tmp_path: Path,
) -> None:
    with running_daemon(_home(tmp_path)) as daemon:
        # Started before the socket answered (daemon.main's prestart comes first).
        warm = daemon.worker_processes(TRANSFERS_APP)
        assert len(warm) == 1
        assert _prestarted_pid(daemon.home) == warm[0].pid
        # An idle worker is no job's run: nothing is active, nothing is bound.
        assert daemon.jobs() == []
        concurrency = daemon.dumpsys()["concurrency"]
        assert concurrency["running"] == 0
        assert concurrency["runs"] == []
        assert TRANSFERS_APP not in daemon.dumpsys()["apps"]["bound"]


def test_the_first_download_runs_in_the_warm_worker(tmp_path: Path) -> None:
    dest = tmp_path / "file.bin"
    with (
        ThreadedTransferTestServer() as server,
        running_daemon(_home(tmp_path)) as daemon,
    ):
        server.add_file("/file.bin", DATA)
        warm_pid = _prestarted_pid(daemon.home)
        done = daemon.uidt("download", server.url("/file.bin"), "-o", str(dest), "--wait")
        assert done.returncode == 0, done.stderr
        assert dest.read_bytes() == DATA
        # No second process was started for it: the warm one is still the only worker ...
        assert [p.pid for p in daemon.worker_processes(TRANSFERS_APP)] == [warm_pid]
        # ... and it is the one that did the work.
        worker_log = (daemon.home / "logs" / f"worker-{TRANSFERS_APP}.log").read_text()
        assert f"downloaded {server.url('/file.bin')} to {dest} in " in worker_log


def test_the_warm_worker_dies_with_the_daemon(tmp_path: Path) -> None:
    daemon = Daemon(_home(tmp_path)).start()
    try:
        pid = _prestarted_pid(daemon.home)
    finally:
        daemon.stop()
    assert daemon.returncode == 0
    wait_for(lambda: _gone(pid), what="the warm worker to be gone")


def test_the_warm_worker_of_a_daemon_killed_with_sigkill_ends_by_itself(tmp_path: Path) -> None:
    """No one kills it then: it sees the daemon's end of its socket close and exits."""
    daemon = Daemon(_home(tmp_path)).start()
    try:
        pid = _prestarted_pid(daemon.home)
    finally:
        daemon.kill9()
    wait_for(lambda: _gone(pid), what="the orphaned warm worker to exit")


def test_the_warm_worker_never_outlives_its_idle_limit(tmp_path: Path) -> None:
    dest = tmp_path / "file.bin"
    settings = {"worker_idle_timeout_ms": "300"}
    with (
        ThreadedTransferTestServer() as server,
        running_daemon(_home(tmp_path), settings) as daemon,
    ):
        server.add_file("/file.bin", DATA)
        _idled_out(daemon)
        assert daemon.worker_processes(TRANSFERS_APP) == []
        assert daemon.returncode is None  # the daemon goes on without it
        # The next download starts a worker of its own, as without a warm one.
        done = daemon.uidt("download", server.url("/file.bin"), "-o", str(dest), "--wait")
        assert done.returncode == 0, done.stderr
        assert dest.read_bytes() == DATA


def test_warm_worker_off_starts_no_worker(tmp_path: Path) -> None:
    with running_daemon(_home(tmp_path), {"warm_worker": "false"}) as daemon:
        # A prestarted worker is started before the socket answers: none is, now.
        assert daemon.worker_processes() == []
        assert PRESTARTED not in (daemon.home / "logs" / "daemon.log").read_text()
