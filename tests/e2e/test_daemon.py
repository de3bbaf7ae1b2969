"""The daemon process itself: its home's files, the lock, settings, shutdown through the API."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psutil
import pytest

from .conftest import SAMPLE_DIR, Daemon, clean_env, running_daemon, uij, wait_for


def run_foreground_daemon(home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """A second ``uidt daemon --foreground`` that is expected to exit by itself."""
    args = ["--home", str(home), "daemon", "--foreground", "--device", "fake", *extra]
    return subprocess.run(
        [sys.executable, "-m", "uidt", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        check=False,
    )


def test_home_files_lock_and_shutdown_request(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with running_daemon(home) as daemon:
        socket = home / "uidt.sock"
        assert stat.S_IMODE(socket.stat().st_mode) == 0o600
        assert (home / "daemon.pid").read_text().strip() == str(daemon.pid)
        assert (home / "daemon.lock").read_text().strip() == str(daemon.pid)
        assert "serving" in (home / "logs" / "daemon.log").read_text()

        second = run_foreground_daemon(home)
        assert second.returncode == 1
        assert f"another uidt daemon (pid {daemon.pid}) already runs for {home}" in second.stderr
        assert daemon.api("GET", "/v1/ping")["pid"] == daemon.pid  # the first one is unharmed

        assert daemon.api("POST", "/v1/shutdown") == {"ok": True}
        assert daemon.process is not None
        assert daemon.process.wait(timeout=15) == 0
        assert not socket.exists()
        assert not (home / "daemon.pid").exists()


def test_unknown_setting_is_refused(tmp_path: Path) -> None:
    done = run_foreground_daemon(tmp_path, "--set", "no_such_setting=1")
    assert done.returncode == 1
    assert "no_such_setting" in done.stderr
    assert "Traceback" not in done.stderr


def test_settings_from_config_toml_and_set(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[settings]\nmax_wait_ui_ms = "1min"\nmax_jobs_per_app = 5\n'
    )
    with running_daemon(tmp_path, {"max_jobs_per_app": "7"}) as daemon:
        settings = daemon.dumpsys()["settings"]
    assert settings["max_wait_ui_ms"] == 60_000  # from config.toml
    assert settings["max_jobs_per_app"] == 7  # --set beats config.toml
    assert settings["op_timeout_ms"] == 3000  # --set beats the default


def test_stale_socket_is_replaced_after_a_crash(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    first = Daemon(home).start()
    first.kill9()
    assert (home / "uidt.sock").exists()  # left behind by kill -9
    with running_daemon(home) as second:
        assert second.api("GET", "/v1/ping")["pid"] == second.pid


def test_shutdown_while_a_worker_is_starting_leaves_nothing_behind(tmp_path: Path) -> None:
    # Given a daemon (its processes marked through the environment) whose first job's worker
    # is still starting
    mark = f"uidt-test-{uuid.uuid4()}"
    env = {**clean_env(), "UIDT_TEST_MARK": mark}
    args = ["--home", str(tmp_path), "daemon", "--foreground", "--device", "fake"]
    process = subprocess.Popen(
        [sys.executable, "-m", "uidt", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    daemon = Daemon(tmp_path, process=process)
    try:
        wait_for(daemon._answers, 20, "the daemon")
        daemon.install(SAMPLE_DIR)
        scheduler = daemon.scheduler()
        with scheduler.activity():
            assert scheduler.schedule(uij(1, "run", tmp_path / "app.log", persisted=True)) == 1
        # When it is asked to shut down at once
        daemon.api("POST", "/v1/shutdown")
        # Then it exits promptly, and no worker outlives it
        process.wait(timeout=20)
        wait_for(lambda: not _marked_workers(mark), 10, "the workers to be gone")
    finally:
        daemon.stop()


def _marked_workers(mark: str) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        with contextlib.suppress(psutil.Error):
            if "uidt.host.worker" not in (proc.info["cmdline"] or []):
                continue
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("UIDT_TEST_MARK") == mark:
                found.append(proc.pid)
    return found


_FOREIGN_PING = """
import socket, sys
with socket.socket(socket.AF_UNIX) as sock:
    sock.settimeout(30)
    sock.connect(sys.argv[1])
    sock.sendall(b"GET /v1/ping HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
print(answer.split()[1].decode())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_a_peer_of_another_user_is_refused(tmp_path: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="uidt-peer-", dir="/tmp"))
    try:
        with running_daemon(home) as daemon:
            # The daemon keeps its home 0700 and its socket 0600; open both again so that the
            # other user reaches the socket at all and the SO_PEERCRED check is what refuses.
            home.chmod(0o755)
            socket = home / "uidt.sock"
            socket.chmod(0o666)  # the daemon made it 0600; open it to exercise SO_PEERCRED
            done = subprocess.run(
                ["/usr/bin/python3", "-c", _FOREIGN_PING, str(socket)],
                capture_output=True,
                text=True,
                timeout=30,
                user=65534,
                group=65534,
                env={"PATH": "/usr/bin:/bin"},
                cwd="/",
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == "403"
            assert daemon.api("GET", "/v1/ping")["ok"] is True  # its own user still gets in
    finally:
        shutil.rmtree(home, ignore_errors=True)
