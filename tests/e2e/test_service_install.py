"""``uidt service install`` next to a daemon the command line started: refused, nothing written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from uidt.autostart.install import Locations, SocketUse, install, socket_use
from uidt.errors import DaemonError
from uidt.home.paths import resolve_paths

from .conftest import Daemon


def test_install_refuses_while_a_daemon_started_outside_systemd_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    units = config / "systemd" / "user"
    script = Path(__file__).resolve().parent.parent / "autostart" / "fake_systemctl.py"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("UIDT_SYSTEMD_USER_DIR", str(units))
    monkeypatch.setenv("UIDT_SYSTEMCTL", f"{sys.executable} {script}")
    monkeypatch.setenv("FAKE_SYSTEMCTL_LOG", str(tmp_path / "systemctl.log"))
    home = tmp_path / "home"
    home.mkdir()
    daemon = Daemon(home).start()
    try:
        paths = resolve_paths(home)
        assert socket_use(paths.socket) is SocketUse.UIDT
        with pytest.raises(DaemonError, match="stop it with `uidt daemon stop`"):
            install(paths, Locations.from_env())
        assert not units.exists()
        assert "enable" not in (tmp_path / "systemctl.log").read_text()
        # Once that daemon has stopped, the same install goes through.
        daemon.stop()
        install(paths, Locations.from_env())
        assert (units / "sockets.target.wants" / "uidt.socket").exists()
    finally:
        daemon.stop()
