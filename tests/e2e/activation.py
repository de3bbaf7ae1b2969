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
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from uidt.autostart.units import daemon_argv
from uidt.home.paths import resolve_paths

from .conftest import FAST_SETTINGS, STARTUP_TIMEOUT_S, Daemon, clean_env, wait_for

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


def start_as_service(home: Path) -> Daemon:
    """Boot: the daemon alone, started as ``uidt.service`` starts it at login.

    At login systemd starts ``uidt.socket`` (it binds and listens on the home's socket), then
    ``uidt.service`` (wanted by ``default.target``) with that socket as fd 3, ``LISTEN_FDS=1`` and
    ``LISTEN_PID`` = the daemon's pid, before anyone connects. Here the test binds the socket,
    and a two-line launcher moves it to fd 3 and sets ``LISTEN_PID`` to its own pid before
    it ``exec``\\ s the unit's command (so that pid is the daemon's). No ``uidt`` command is run.
    """
    paths = resolve_paths(home)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    paths.socket.unlink(missing_ok=True)
    listener.bind(str(paths.socket))
    listener.listen(16)
    fd = listener.fileno()
    script = (
        f"import os, sys; os.dup2({fd}, 3); os.close({fd}); "
        "os.environ.update(LISTEN_FDS='1', LISTEN_PID=str(os.getpid())); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    argv = [sys.executable, "-c", script, *daemon_argv(paths), "--device", "fake"]
    env = {k: v for k, v in clean_env().items() if not k.startswith(("LISTEN_", "NOTIFY_"))}
    try:
        with (home / "daemon.out").open("ab") as out:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=env,
                pass_fds=(fd,),
                start_new_session=True,
            )
    finally:
        listener.close()  # the daemon holds it now, as the service manager's copy would
    daemon = Daemon(home, process=process)
    wait_for(daemon._answers, STARTUP_TIMEOUT_S, "the booted daemon to answer /v1/ping")
    return daemon
