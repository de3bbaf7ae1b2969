"""``uidt service install | uninstall | status``: put the units (or the autostart entry) in place.

Where a systemd user manager runs (``systemctl --user`` reaches one), ``install`` writes
``uidt.socket`` and ``uidt.service`` into the user unit directory
(:func:`uidt.home.socketunit.user_unit_dir`), reloads the manager and enables both with
``--now``. Elsewhere it writes the XDG autostart entry ``$XDG_CONFIG_HOME/autostart/uidt.desktop``,
which desktop sessions run at login. Nothing is half-written: files are written under a
temporary name and renamed, and a failed ``systemctl`` call removes what was written.

``UIDT_SYSTEMCTL`` names the ``systemctl`` program to run (tests give a fake one; an empty value:
behave as if no user manager ran); :data:`uidt.home.socketunit.UNIT_DIR_ENV` the unit directory.
"""

from __future__ import annotations

import enum
import os
import shlex
import stat
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from uidt.autostart.units import daemon_argv, desktop_entry, service_unit, socket_unit
from uidt.errors import DaemonError
from uidt.home.paths import Paths
from uidt.home.socketunit import (
    DESKTOP_ENTRY,
    SERVICE_UNIT,
    SOCKET_UNIT,
    SOCKETS_WANTS,
    config_home,
    listen_stream,
    user_unit_dir,
)

SYSTEMCTL_ENV = "UIDT_SYSTEMCTL"
_SYSTEMCTL_TIMEOUT_S = 30.0


class Method(enum.StrEnum):
    """How the daemon starts with the session."""

    SYSTEMD = "systemd"
    XDG_AUTOSTART = "xdg-autostart"
    NONE = "none"


class SocketUse(enum.StrEnum):
    """Who, if anyone, answers at the home's socket path."""

    FREE = "free"  # nothing there, or a stale socket file nobody listens on
    UIDT = "uidt"  # a uidt daemon answers
    OTHER = "other"  # something else: not a socket, or a program that does not speak uidt


@dataclass(frozen=True)
class Locations:
    """Where the files go and which ``systemctl`` to ask (from the environment)."""

    unit_dir: Path
    autostart_dir: Path
    systemctl: tuple[str, ...]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Locations:
        env = os.environ if env is None else env
        command = env.get(SYSTEMCTL_ENV)
        systemctl = tuple(shlex.split(command)) if command is not None else ("systemctl",)
        return cls(user_unit_dir(env), config_home(env) / "autostart", systemctl)

    @property
    def socket_file(self) -> Path:
        return self.unit_dir / SOCKET_UNIT

    @property
    def service_file(self) -> Path:
        return self.unit_dir / SERVICE_UNIT

    @property
    def desktop_file(self) -> Path:
        return self.autostart_dir / DESKTOP_ENTRY

    def ours(self) -> list[Path]:
        """The files ``install`` may write, those that exist."""
        candidates = (self.socket_file, self.service_file, self.desktop_file)
        return [p for p in candidates if p.exists() or p.is_symlink()]


@dataclass
class Outcome:
    """What a command did, in sentences, and the state it left."""

    method: Method
    lines: list[str] = field(default_factory=list)
    changed: bool = True


class Systemctl:
    """``systemctl --user`` (or the program ``UIDT_SYSTEMCTL`` names)."""

    def __init__(self, command: Sequence[str]) -> None:
        self.command = tuple(command)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``systemctl --user ARGS``; a program that cannot be run is a failed call."""
        if not self.command:
            return subprocess.CompletedProcess(args, 1, "", "no systemctl configured")
        try:
            return subprocess.run(
                [*self.command, "--user", *args],
                capture_output=True,
                text=True,
                timeout=_SYSTEMCTL_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return subprocess.CompletedProcess(args, 1, "", str(exc))

    def manager_runs(self) -> bool:
        """Whether a user service manager answers (``systemctl --user`` reaches one)."""
        result = self.run("show", "--property=Version", "--value")
        return result.returncode == 0 and bool(result.stdout.strip())

    def must(self, *args: str) -> None:
        """Run it; raise with its own words when it fails.

        Raises:
            DaemonError: the call failed.
        """
        result = self.run(*args)
        if result.returncode != 0:
            said = (result.stderr or result.stdout).strip() or f"exit status {result.returncode}"
            raise DaemonError(f"`systemctl --user {' '.join(args)}` failed: {said}")


def socket_use(path: Path, timeout: float = 3.0) -> SocketUse:
    """Who answers at ``path``: nobody, a uidt daemon (it answers ``/v1/ping``) or another program."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return SocketUse.FREE
    except OSError:
        return SocketUse.OTHER
    if not stat.S_ISSOCK(mode):
        return SocketUse.OTHER
    from uidt.app.connection import DaemonConnection, connect_socket

    try:  # waits for room in a full queue (a daemon behind on accepting), as every client does
        connect_socket(path, timeout).close()
    except ConnectionRefusedError:
        return SocketUse.FREE  # a stale socket file: the daemon or systemd replaces it
    except OSError:
        return SocketUse.OTHER
    conn = DaemonConnection(_paths_for_socket(path), autostart=False, timeout=timeout)
    try:
        conn.request("GET", "/v1/ping")
    except DaemonError:
        return SocketUse.OTHER
    return SocketUse.UIDT


def _paths_for_socket(path: Path) -> Paths:
    return Paths(path.parent, path.parent, path.parent)


def installed_method(where: Locations) -> Method:
    """How uidt is installed to start with the session now (by the files present)."""
    if where.socket_file.exists() or where.service_file.exists():
        return Method.SYSTEMD
    if where.desktop_file.exists():
        return Method.XDG_AUTOSTART
    return Method.NONE


def install(paths: Paths, where: Locations, python: str | None = None) -> Outcome:
    """Install the units (or the autostart entry) for the home ``paths``.

    Raises:
        DaemonError: a different uidt service is installed, the socket path is taken, a path
            cannot be written into a unit, or ``systemctl`` failed (then nothing stays written).
    """
    argv = daemon_argv(paths, python)
    if any("\n" in word for word in [*argv, str(paths.socket)]):
        raise DaemonError("a path with a line break cannot be written into a unit file")
    systemctl = Systemctl(where.systemctl)
    method = Method.SYSTEMD if systemctl.manager_runs() else Method.XDG_AUTOSTART
    wanted = _wanted_files(paths, where, argv, method)
    present = where.ours()
    if present:
        if sorted(present) == sorted(wanted) and all(
            p.read_text(encoding="utf-8") == text for p, text in wanted.items()
        ):
            return Outcome(
                method,
                [f"uidt is already installed ({method}): {_names(present)}; nothing changed"],
                changed=False,
            )
        raise DaemonError(
            f"another uidt service set-up is installed ({_names(present)}), for another home, "
            "Python or method; run `uidt service uninstall` first"
        )
    use = socket_use(paths.socket)
    if use is SocketUse.OTHER:
        raise DaemonError(
            f"{paths.socket} is taken by another program (it is not a uidt daemon's socket); "
            "free that path first, or install for another home (`uidt --home DIR service install`)"
        )
    if method is Method.SYSTEMD and use is SocketUse.UIDT:
        raise DaemonError(
            f"a uidt daemon already runs for {paths.data_dir}, started outside systemd; stop it "
            "with `uidt daemon stop` (persisted jobs run again under systemd), then run "
            "`uidt service install` again"
        )
    if method is Method.XDG_AUTOSTART:
        _write_all(wanted)
        return Outcome(
            method,
            [
                "no systemd user manager runs here (`systemctl --user` reaches none), so: "
                f"wrote the XDG autostart entry {where.desktop_file}; your desktop session "
                "starts the uidt daemon at login",
                "start it now with `uidt daemon start`; undo with `uidt service uninstall`",
            ],
        )
    _write_all(wanted)
    try:
        systemctl.must("daemon-reload")
        systemctl.must("enable", "--now", SOCKET_UNIT, SERVICE_UNIT)
    except DaemonError:
        systemctl.run("disable", "--now", SERVICE_UNIT, SOCKET_UNIT)
        for path in wanted:
            path.unlink(missing_ok=True)
        systemctl.run("daemon-reload")
        raise
    return Outcome(
        method,
        [
            f"wrote {where.socket_file} and {where.service_file}",
            f"enabled and started them (`systemctl --user enable --now {SOCKET_UNIT} "
            f"{SERVICE_UNIT}`): systemd listens on {paths.socket} and runs the daemon at "
            "login and on the first connection",
            "undo with `uidt service uninstall`",
        ],
    )


def uninstall(where: Locations) -> Outcome:
    """Disable and remove what ``install`` put in place (saying so when there is nothing).

    Raises:
        DaemonError: ``systemctl`` could not disable the units (the files are then kept).
    """
    method = installed_method(where)
    present = where.ours()
    if not present:
        return Outcome(
            Method.NONE,
            [
                f"uidt service is not installed (no {SOCKET_UNIT}/{SERVICE_UNIT} in "
                f"{where.unit_dir}, no {where.desktop_file}); nothing changed"
            ],
            changed=False,
        )
    lines: list[str] = []
    systemctl = Systemctl(where.systemctl)
    units = [p for p in (where.socket_file, where.service_file) if p in present]
    if units and systemctl.manager_runs():
        systemctl.must("disable", "--now", *(p.name for p in units))
        lines.append(f"stopped and disabled {', '.join(p.name for p in units)}")
    else:
        # No manager to ask: remove the links `enable` made, so nothing refers to the units.
        for link in (
            where.unit_dir / SOCKETS_WANTS / SOCKET_UNIT,
            where.unit_dir / "default.target.wants" / SERVICE_UNIT,
        ):
            if link.is_symlink():
                link.unlink()
    for path in present:
        path.unlink(missing_ok=True)
    lines.append(f"removed {_names(present)}")
    if units and systemctl.manager_runs():
        systemctl.run("daemon-reload")
    lines.append(
        "the command line starts the daemon itself again when a command needs it"
        if method is Method.SYSTEMD
        else "the daemon no longer starts at login"
    )
    return Outcome(method, lines)


@dataclass
class ServiceStatus:
    method: Method
    files: list[Path]
    socket_path: str | None
    enabled: str | None
    active: str | None
    daemon: SocketUse

    def as_json(self) -> dict[str, object]:
        return {
            "method": str(self.method),
            "files": [str(p) for p in self.files],
            "socket": self.socket_path,
            "enabled": self.enabled,
            "active": self.active,
            "daemon": str(self.daemon),
        }


def status(paths: Paths, where: Locations) -> ServiceStatus:
    """What is installed, what systemd says of it (where a manager runs), who answers the socket."""
    method = installed_method(where)
    socket_path: str | None = None
    if where.socket_file.exists():
        socket_path = listen_stream(where.socket_file.read_text(encoding="utf-8"))
    enabled = active = None
    systemctl = Systemctl(where.systemctl)
    if method is Method.SYSTEMD and systemctl.manager_runs():
        enabled = systemctl.run("is-enabled", SOCKET_UNIT).stdout.strip() or None
        active = systemctl.run("is-active", SERVICE_UNIT).stdout.strip() or None
    elif method is Method.SYSTEMD:
        linked = (where.unit_dir / SOCKETS_WANTS / SOCKET_UNIT).exists()
        enabled = "enabled" if linked else "disabled"
    return ServiceStatus(
        method, where.ours(), socket_path, enabled, active, socket_use(paths.socket)
    )


def _wanted_files(
    paths: Paths, where: Locations, argv: list[str], method: Method
) -> dict[Path, str]:
    if method is Method.SYSTEMD:
        return {where.socket_file: socket_unit(paths), where.service_file: service_unit(argv)}
    return {where.desktop_file: desktop_entry(argv)}


def _write_all(files: Mapping[Path, str]) -> None:
    """Write each file under a temporary name, then rename; on a failure remove them all.

    Raises:
        DaemonError: a file could not be written.
    """
    written: list[Path] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            temporary.write_text(text, encoding="utf-8")
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
            written.append(path)
    except OSError as exc:
        for path in written:
            path.unlink(missing_ok=True)
        with_tmp = [p.with_name(f".{p.name}.{os.getpid()}.tmp") for p in files]
        for path in with_tmp:
            path.unlink(missing_ok=True)
        raise DaemonError(
            f"cannot write {exc.filename or 'the unit files'}: {exc.strerror}"
        ) from exc


def _names(paths: Sequence[Path]) -> str:
    return ", ".join(str(p) for p in paths)
