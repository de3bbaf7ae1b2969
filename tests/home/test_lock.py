from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from uidt.errors import DaemonError
from uidt.home.lock import HomeLock, live_holder


def test_second_lock_on_the_same_home_is_refused(tmp_path: Path) -> None:
    with HomeLock(tmp_path / "daemon.lock"), pytest.raises(DaemonError, match="already runs"):
        HomeLock(tmp_path / "daemon.lock").acquire()
    with HomeLock(tmp_path / "daemon.lock"):
        pass


def test_live_holder_names_the_running_daemon_only(tmp_path: Path) -> None:
    path = tmp_path / "daemon.lock"
    assert live_holder(path) is None  # no lock file
    with HomeLock(path):
        assert live_holder(path) == os.getpid()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path.write_text(f"{dead.pid}\n")  # a daemon that died without cleaning up
    assert live_holder(path) is None
    path.write_text("not a pid\n")
    assert live_holder(path) is None


def test_a_dead_daemon_nobody_reaped_holds_nothing(tmp_path: Path) -> None:
    # A daemon whose parent never waited for it stays a zombie: it holds no lock any more
    path = tmp_path / "daemon.lock"
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        stat = Path(f"/proc/{zombie.pid}/stat")
        deadline = time.monotonic() + 20
        while stat.read_text().rpartition(")")[2].split()[0] != "Z":  # exited, not reaped yet
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.01)  # noqa: TID251 - polling another process, bounded
        path.write_text(f"{zombie.pid}\n")
        assert live_holder(path) is None
    finally:
        zombie.wait()
