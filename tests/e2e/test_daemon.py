"""The daemon process itself: its home's files, the lock, settings, shutdown through the API."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from .conftest import Daemon, clean_env, running_daemon


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
    assert settings["op_timeout_ms"] == 1500  # --set beats the default


def test_stale_socket_is_replaced_after_a_crash(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    first = Daemon(home).start()
    first.kill9()
    assert (home / "uidt.sock").exists()  # left behind by kill -9
    with running_daemon(home) as second:
        assert second.api("GET", "/v1/ping")["pid"] == second.pid
