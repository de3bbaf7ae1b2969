"""Running the daemon as systemd would: ``systemd-socket-activate`` holds the listening socket.

``systemd-socket-activate -l PATH CMD`` (from the systemd package) binds and listens on PATH,
waits for the first connection, then executes CMD with the socket as fd 3 and ``LISTEN_FDS=1``,
``LISTEN_PID`` set to CMD's pid — the hand-off ``uidt.socket`` + ``uidt.service`` make. CMD is
the unit's own ``ExecStart`` (:func:`uidt.autostart.units.daemon_argv`) plus ``--device fake``;
the fast settings go into the home's ``config.toml``. A datagram socket plays the manager's
``NOTIFY_SOCKET`` and collects what the daemon tells it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from uidt.autostart.units import daemon_argv
from uidt.daemon.paths import resolve_paths

from .conftest import FAST_SETTINGS, STARTUP_TIMEOUT_S, wait_for

SOCKET_ACTIVATE = shutil.which("systemd-socket-activate")


def write_fast_config(home: Path, extra: dict[str, str] | None = None) -> None:
    home.mkdir(parents=True, exist_ok=True)
    items = {**FAST_SETTINGS, **(extra or {})}
    (home / "config.toml").write_text("".join(f"{k} = {v}\n" for k, v in items.items()))


@dataclass
class ActivatedDaemon:
    """``systemd-socket-activate`` listening for one home, and the daemon it starts."""

    home: Path
    listen: Path | None = None  # the path to listen on (default: the home's socket)
    watchdog_usec: int | None = None
    process: subprocess.Popen[bytes] | None = None
    told: list[str] = field(default_factory=list)
    _notify: socket.socket | None = None

    def start(self) -> ActivatedDaemon:
        if SOCKET_ACTIVATE is None:
            pytest.skip("systemd-socket-activate is not installed")
        paths = resolve_paths(self.home)
        listen = self.listen or paths.socket
        notify_path = self.home.parent / f"{self.home.name}-notify.sock"
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify.bind(str(notify_path))
        self._notify.setblocking(False)
        env = ["-E", f"NOTIFY_SOCKET={notify_path}", "-E", "PYTHONUNBUFFERED=1"]
        if self.watchdog_usec is not None:
            env += ["-E", f"WATCHDOG_USEC={self.watchdog_usec}"]
        argv = [SOCKET_ACTIVATE, "-l", str(listen), *env, *daemon_argv(paths), "--device", "fake"]
        with (self.home / "activate.out").open("ab") as out:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
            )
        wait_for(listen.exists, STARTUP_TIMEOUT_S, "systemd-socket-activate to listen")
        return self

    def output(self) -> str:
        path = self.home / "activate.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def collect(self) -> list[str]:
        """Every state the daemon has sent to the manager so far."""
        assert self._notify is not None
        while True:
            try:
                self.told.append(self._notify.recv(4096).decode())
            except BlockingIOError:
                return self.told

    def wait_told(self, prefix: str, count: int = 1) -> list[str]:
        return wait_for(
            lambda: (s := [m for m in self.collect() if m.startswith(prefix)])[count - 1 :] and s,
            STARTUP_TIMEOUT_S,
            f"{count} times {prefix!r} from the daemon (told: {self.told}; output: {self.output()})",
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._notify is not None:
            self._notify.close()
