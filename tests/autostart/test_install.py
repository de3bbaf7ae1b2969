"""``uidt service install | uninstall | status`` through the command line, with a stand-in manager."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.autostart.install import Locations, SocketUse, install, socket_use
from uidt.errors import DaemonError
from uidt.home.paths import resolve_paths
from uidt.home.socketunit import socket_unit_owner
from uidt.testing.unixqueue import full_listen_queue


def uidt(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=dict(os.environ),
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_install_with_a_user_manager_writes_and_enables_both_units(
    home: Path, config_home: Path, fake_systemctl: Path
) -> None:
    result = uidt(home, "service", "install")
    assert result.returncode == 0, result.stderr
    units = config_home / "systemd" / "user"
    assert (units / "uidt.socket").read_text().count(f"ListenStream={home / 'uidt.sock'}") == 1
    assert "Type=notify" in (units / "uidt.service").read_text()
    assert fake_systemctl.read_text().splitlines() == [
        "--user show --property=Version --value",
        "--user daemon-reload",
        "--user enable --now uidt.socket uidt.service",
    ]
    assert "undo with `uidt service uninstall`" in result.stdout
    assert not (config_home / "autostart" / "uidt.desktop").exists()
    # From now on the socket unit owns the home's socket: the CLI starts no daemon there.
    assert socket_unit_owner(resolve_paths(home)) == units / "uidt.socket"


def test_without_a_user_manager_install_falls_back_to_an_xdg_autostart_entry(
    home: Path, config_home: Path
) -> None:
    result = uidt(home, "service", "install")
    assert result.returncode == 0, result.stderr
    entry = config_home / "autostart" / "uidt.desktop"
    assert f"--home {home}" in entry.read_text()
    assert "no systemd user manager runs here" in result.stdout
    assert str(entry) in result.stdout
    assert not (config_home / "systemd").exists()
    assert socket_unit_owner(resolve_paths(home)) is None  # the CLI's autostart stays


def test_install_twice_changes_nothing_and_says_so(
    home: Path, config_home: Path, fake_systemctl: Path
) -> None:
    assert uidt(home, "service", "install").returncode == 0
    before = fake_systemctl.read_text()
    again = uidt(home, "--json", "service", "install")
    assert again.returncode == 0, again.stderr
    said = json.loads(again.stdout)
    assert said["changed"] is False
    assert "already installed" in said["said"][0]
    assert fake_systemctl.read_text().count("enable") == before.count("enable")


def test_install_for_another_home_over_an_installed_one_is_refused(
    tmp_path: Path, config_home: Path, fake_systemctl: Path
) -> None:
    assert uidt(tmp_path / "one", "service", "install").returncode == 0
    unit = (config_home / "systemd" / "user" / "uidt.socket").read_text()
    other = uidt(tmp_path / "two", "service", "install")
    assert other.returncode == 1
    assert "run `uidt service uninstall` first" in other.stderr
    assert (config_home / "systemd" / "user" / "uidt.socket").read_text() == unit


def test_a_failing_enable_leaves_nothing_written(
    home: Path, config_home: Path, fake_systemctl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SYSTEMCTL_FAIL", "enable")
    result = uidt(home, "service", "install")
    assert result.returncode == 1
    assert "Access denied" in result.stderr
    units = config_home / "systemd" / "user"
    assert sorted(p.name for p in units.rglob("*") if not p.is_dir()) == []


def test_uninstall_disables_and_removes_and_a_second_one_says_nothing_is_installed(
    home: Path, config_home: Path, fake_systemctl: Path
) -> None:
    assert uidt(home, "service", "install").returncode == 0
    result = uidt(home, "service", "uninstall")
    assert result.returncode == 0, result.stderr
    assert "--user disable --now uidt.socket uidt.service" in fake_systemctl.read_text()
    units = config_home / "systemd" / "user"
    assert not [p for p in units.rglob("*") if not p.is_dir()]
    assert socket_unit_owner(resolve_paths(home)) is None
    again = uidt(home, "service", "uninstall")
    assert again.returncode == 0
    assert "not installed" in again.stdout
    assert "nothing changed" in again.stdout


def test_status_reports_what_is_installed_and_exits_3_when_nothing_is(
    home: Path, config_home: Path, fake_systemctl: Path
) -> None:
    none = uidt(home, "service", "status")
    assert none.returncode == 3
    assert "not installed" in none.stdout
    assert uidt(home, "service", "install").returncode == 0
    status = uidt(home, "--json", "service", "status")
    assert status.returncode == 0, status.stderr
    found = json.loads(status.stdout)
    assert found["method"] == "systemd"
    assert found["socket"] == str(home / "uidt.sock")
    assert found["enabled"] == "enabled"
    assert found["daemon"] == "free"


@pytest.fixture
def squatter(home: Path) -> Iterator[Path]:
    """Another program listening on the home's socket path (it answers nothing uidt knows)."""
    home.mkdir(parents=True)
    path = home / "uidt.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)

    def answer() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return  # closed: the test is over
            with conn, contextlib.suppress(OSError):  # the prober may hang up first
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.shutdown(socket.SHUT_RDWR)
        server.close()
        thread.join(timeout=5)


def test_a_socket_path_taken_by_another_program_is_refused_and_nothing_written(
    home: Path, config_home: Path, fake_systemctl: Path, squatter: Path
) -> None:
    paths = resolve_paths(home)
    with pytest.raises(DaemonError, match="taken by another program"):
        install(paths, Locations.from_env())
    assert not (config_home / "systemd").exists()
    assert "enable" not in fake_systemctl.read_text()


def test_socket_use_tells_free_stale_and_foreign_paths_apart(tmp_path: Path) -> None:
    assert socket_use(tmp_path / "missing.sock") is SocketUse.FREE
    plain = tmp_path / "plain"
    plain.write_text("not a socket")
    assert socket_use(plain) is SocketUse.OTHER
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as gone:
        gone.bind(str(stale))  # bound, never listening: connecting is refused
    assert socket_use(stale) is SocketUse.FREE


def test_a_uidt_daemon_behind_on_accepting_is_still_told_apart(tmp_path: Path) -> None:
    """A daemon whose listen queue is full for a moment (a burst of commands) is uidt, not
    "another program": the probe waits for room, as every client does."""
    path = tmp_path / "uidt.sock"
    answer = b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"ok": true}'
    with full_listen_queue(path) as (server, queued):

        def serve() -> None:  # falls behind, then accepts everyone and answers pings
            server.settimeout(10)
            for _ in queued[:-1]:
                server.accept()[0].close()
            for _ in range(2):  # the probe's connect, then its ping
                conn, _ = server.accept()
                with conn:
                    conn.settimeout(10)
                    got = b""
                    while (chunk := conn.recv(65536)) and b"\r\n\r\n" not in got + chunk:
                        got += chunk
                    if chunk:
                        conn.sendall(answer)

        behind = threading.Timer(0.3, serve)
        behind.start()
        try:
            assert socket_use(path, timeout=5.0) is SocketUse.UIDT
        finally:
            behind.join()
