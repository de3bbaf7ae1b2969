"""The daemon started as systemd starts it: the listening socket passed in, READY, the watchdog."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from .activation import ActivatedDaemon, write_fast_config
from .conftest import clean_env, wait_for


def _uidt(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=clean_env(),
    )


def test_the_first_connection_starts_the_daemon_on_the_passed_socket(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_fast_config(home)
    activated = ActivatedDaemon(home, watchdog_usec=200_000).start()
    try:
        assert activated.process is not None
        assert not (home / "daemon.pid").exists()  # nothing runs before someone connects
        status = _uidt(home, "daemon", "status", "--json")
        assert status.returncode == 0, status.stderr + activated.output()
        assert "started the daemon" not in status.stderr  # the CLI spawned none of its own
        answered = json.loads(status.stdout)
        assert answered["pid"] == activated.process.pid  # the program systemd-socket-activate ran
        ready = activated.wait_told("READY=1")[0]
        assert f"MAINPID={activated.process.pid}" in ready
        activated.wait_told("WATCHDOG=1", count=3)  # every 0.1 s, from the event loop

        stopped = _uidt(home, "daemon", "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert activated.process.wait(timeout=20) == 0
        activated.wait_told("STOPPING=1")
        # The socket's file is the manager's (it listens there for the next start): not removed.
        assert (home / "uidt.sock").exists()
        assert not (home / "daemon.pid").exists()
    finally:
        activated.stop()


def test_a_passed_socket_on_another_path_fails_the_start_with_the_reason(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_fast_config(home)
    elsewhere = tmp_path / "elsewhere.sock"
    activated = ActivatedDaemon(home, listen=elsewhere).start()
    try:
        assert activated.process is not None
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as knock:
            knock.connect(str(elsewhere))  # the first connection: the daemon is started
            assert activated.process.wait(timeout=30) == 1
        output = activated.output()
        assert f"bound to '{elsewhere}', but this home's socket is {home / 'uidt.sock'}" in output
        assert not [m for m in activated.collect() if m.startswith("READY=1")]
        wait_for(lambda: not (home / "daemon.pid").exists(), what="no pid file")
    finally:
        activated.stop()
