"""The rule by which the command line steps aside for systemd's ``uidt.socket``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from uidt.autostart.units import socket_unit
from uidt.home.paths import Paths, resolve_paths
from uidt.home.socketunit import socket_unit_owner


def _install(unit_dir: Path, paths: Paths, *, enabled: bool = True) -> Path:
    unit = unit_dir / "uidt.socket"
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text(socket_unit(paths))
    if enabled:
        link = unit_dir / "sockets.target.wants" / "uidt.socket"
        link.parent.mkdir(exist_ok=True)
        link.symlink_to(unit)
    return unit


@pytest.fixture
def unit_dir(config_home: Path) -> Path:
    return config_home / "systemd" / "user"


def test_an_enabled_unit_listening_on_the_homes_socket_owns_it(
    tmp_path: Path, unit_dir: Path
) -> None:
    paths = resolve_paths(tmp_path / "home")
    unit = _install(unit_dir, paths)
    assert socket_unit_owner(paths) == unit


def test_a_unit_that_is_not_enabled_owns_nothing(tmp_path: Path, unit_dir: Path) -> None:
    paths = resolve_paths(tmp_path / "home")
    _install(unit_dir, paths, enabled=False)
    assert socket_unit_owner(paths) is None


def test_a_unit_for_another_home_owns_nothing_here(tmp_path: Path, unit_dir: Path) -> None:
    _install(unit_dir, resolve_paths(tmp_path / "other"))
    assert socket_unit_owner(resolve_paths(tmp_path / "home")) is None


def test_a_dangling_enable_link_owns_nothing(tmp_path: Path, unit_dir: Path) -> None:
    paths = resolve_paths(tmp_path / "home")
    unit = _install(unit_dir, paths)
    unit.unlink()
    assert socket_unit_owner(paths) is None


def test_the_cli_starts_no_daemon_where_a_socket_unit_owns_the_path(
    tmp_path: Path, unit_dir: Path
) -> None:
    home = tmp_path / "home"
    unit = _install(unit_dir, resolve_paths(home))
    # Nothing listens (no user manager here): the command says so and starts no daemon of its
    # own, which would unlink systemd's socket and bind another.
    result = subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(home), "jobs"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=dict(os.environ),
    )
    assert result.returncode == 1
    assert f"{unit} owns {home / 'uidt.sock'}" in result.stderr
    assert "systemctl --user start uidt.socket" in result.stderr
    assert "started the daemon" not in result.stderr
    assert not (home / "daemon.pid").exists()
    assert not (home / "uidt.sock").exists()
