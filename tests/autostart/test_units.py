"""The unit files and the autostart entry: their text, and what ``systemd-analyze verify`` says."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from uidt.autostart.units import (
    daemon_argv,
    desktop_entry,
    desktop_exec,
    exec_line,
    service_unit,
    socket_unit,
)
from uidt.home.paths import resolve_paths
from uidt.home.socketunit import listen_stream


def _sections(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def test_the_socket_unit_listens_privately_on_the_homes_socket(tmp_path: Path) -> None:
    paths = resolve_paths(tmp_path / "home")
    unit = _sections(socket_unit(paths))
    assert unit["Socket"]["ListenStream"] == str(paths.socket)
    assert unit["Socket"]["Accept"] == "no"  # one daemon takes the listening socket itself
    assert unit["Socket"]["SocketMode"] == "0600"
    assert unit["Install"]["WantedBy"] == "sockets.target"


def test_the_service_is_notify_type_with_a_watchdog_and_restarts_on_failure(
    tmp_path: Path,
) -> None:
    paths = resolve_paths(tmp_path / "home")
    unit = _sections(service_unit(daemon_argv(paths)))
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure"
    assert shlex.split(service["ExecStart"]) == [
        sys.executable,
        "-m",
        "uidt.daemon",
        "--background",
        "--prestart",
        "uidt.transfers",
        "--home",
        str(paths.data_dir),
    ]
    assert unit["Unit"]["Requires"] == "uidt.socket"
    # Started at login as well, not only on the first connection: persisted jobs resume.
    assert unit["Install"]["WantedBy"] == "default.target"


def test_the_xdg_layout_gives_no_home_option(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    paths = resolve_paths(None, env)
    assert "--home" not in daemon_argv(paths)
    assert listen_stream(socket_unit(paths)) == str(tmp_path / "run" / "uidt" / "uidt.sock")


def test_awkward_paths_are_quoted_for_systemd_and_for_desktop_entries() -> None:
    argv = ["/opt/my python/bin/python3", "--home", '/data/100% $HOME "x"']
    line = exec_line(argv)
    assert "%%" in line
    assert "$$HOME" in line
    # systemd's own unquoting, for what needs no specifier or variable expansion
    assert shlex.split(line.replace("%%", "%").replace("$$", "$")) == argv
    exec_value = desktop_exec(argv)
    assert exec_value.startswith('"/opt/my python/bin/python3" --home "')
    assert "%%" in exec_value
    assert "\\\\$HOME" in exec_value  # escaped once for the Exec rule, once for the file


def test_the_desktop_entry_starts_the_daemon(tmp_path: Path) -> None:
    argv = daemon_argv(resolve_paths(tmp_path / "home"))
    entry = _sections(desktop_entry(argv))["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert shlex.split(entry["Exec"]) == argv
    assert entry["NoDisplay"] == "true"


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    paths = resolve_paths(tmp_path / "home")
    units = tmp_path / "units"
    units.mkdir()
    (units / "uidt.socket").write_text(socket_unit(paths))
    (units / "uidt.service").write_text(service_unit(daemon_argv(paths)))
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    result = subprocess.run(
        [analyze, "verify", "--user", "./uidt.socket", "./uidt.service"],
        cwd=units,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(runtime)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # It reports unknown keys and bad values on stderr yet exits 0: no word about our files.
    assert "uidt." not in result.stderr, result.stderr
